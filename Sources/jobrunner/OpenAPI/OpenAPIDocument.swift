import CEmbedded

/// The OpenAPI 3.1 document served at `/openapi.yaml`: the repository's `openapi.yaml`,
/// compiled into the binary by the CEmbedded target (C23 `#embed`), so that the file is
/// the one source and a binary copied anywhere still serves it.
enum OpenAPIDocument {
    static let yaml = String(
        decoding: UnsafeRawBufferPointer(start: cembedded_openapi_yaml(), count: Int(cembedded_openapi_yaml_length())),
        as: UTF8.self
    )
}
