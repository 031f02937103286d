import NIOCore
import NIOHTTPTypes
import Synchronization

/// Deadlines and a cap for every HTTP connection, so that slow or idle clients cannot take
/// the service's descriptors (a slowloris: headers sent a byte at a time, or never ended).
///
/// - a new connection must send a whole request head within `http.headerTimeoutSeconds`;
/// - a request's body must arrive within `http.bodyTimeoutSeconds` of its head;
/// - a keep-alive connection waits at most `http.idleTimeoutSeconds` for its next request
///   (and the whole head of that request must come within it);
/// - beyond `http.maxConnections` open connections, or when the service's descriptors run
///   low (``DescriptorBudget``), the oldest connection that is not inside a request is
///   closed to make room; when every one is busy, the new one is closed.
///
/// A connection past a deadline is closed. A request being handled has no deadline (a
/// large answer, a follow of a job's log).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Settings: Sendable {
        var headerTimeout: TimeAmount
        var bodyTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var maxConnections: Int
    }

    private let settings: Settings
    private let registry: ConnectionRegistry
    private var number = 0
    private var deadline: Scheduled<Void>?
    private var registered = false

    init(settings: Settings, registry: ConnectionRegistry) {
        self.settings = settings
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        registered = true
        number = registry.opened(context.channel, settings: settings)
        arm(context, settings.headerTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        unregister()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        unregister()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            registry.setBusy(number, true)
            arm(context, settings.bodyTimeout)
        case .end:
            disarm()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            registry.setBusy(number, false)
            arm(context, settings.idleTimeout)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    private func unregister() {
        guard registered else { return }
        registered = false
        registry.closed(number)
    }
}

/// Every open connection, oldest first, and whether it is inside a request. Shared by
/// the event loops.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: any Channel
        var busy: Bool
    }

    private struct State {
        var next = 0
        var open: [Int: Entry] = [:]
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.open.count } }

    /// Registers a new connection; closes the oldest idle one (or this one) when the cap or
    /// the descriptor reserve is reached. Returns the connection's number.
    func opened(_ channel: any Channel, settings: ConnectionGuard.Settings) -> Int {
        DescriptorBudget.shared.connectionOpened()
        var victim: (any Channel)?
        let number = state.withLock { s in
            s.next += 1
            let number = s.next
            s.open[number] = Entry(channel: channel, busy: false)
            if s.open.count > settings.maxConnections || DescriptorBudget.shared.shortage != nil {
                let oldestIdle = s.open.filter { $0.key != number && !$0.value.busy }.keys.min()
                victim = oldestIdle.flatMap { s.open[$0]?.channel } ?? channel
            }
            return number
        }
        victim?.close(promise: nil)
        return number
    }

    func setBusy(_ number: Int, _ busy: Bool) {
        state.withLock { $0.open[number]?.busy = busy }
    }

    func closed(_ number: Int) {
        let removed = state.withLock { $0.open.removeValue(forKey: number) != nil }
        if removed { DescriptorBudget.shared.connectionClosed() }
    }
}
