import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage, the peer's address and the token the
/// call presented (its id, for the audit log).
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The id of the valid bearer token of this call; nil when none was given or needed.
    var tokenID: String?
    /// Whether the caller may see details (no tokens configured, or a valid `read` token).
    var mayRead = true

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
