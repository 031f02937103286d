import Foundation
import Testing
import Yams

/// A JSON value, decoded strictly (a boolean is never a number).
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// From what Yams loads (Swift Bool, Int, Double, String, arrays, dictionaries).
    init(yaml: Any?) {
        switch yaml {
        case nil, is NSNull: self = .null
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map { JSONValue(yaml: $0) })
        case let o as [String: Any]: self = .object(o.mapValues { JSONValue(yaml: $0) })
        default: self = .string("\(yaml!)")
        }
    }

    static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}

/// Validates JSON against the JSON Schema subset the document uses: `$ref`, `type` (one or
/// a list), `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
/// `oneOf`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minItems`,
/// `maxItems`, `maxLength`, `maxProperties`, `pattern`. Returns the problems found.
struct SchemaValidator {
    let document: JSONValue

    func resolve(_ schema: JSONValue) -> JSONValue {
        guard case .string(let ref)? = schema["$ref"] else { return schema }
        var node = document
        for part in ref.dropFirst(2).split(separator: "/") { node = node[String(part)] ?? .null }
        return resolve(node)
    }

    func problems(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        let schema = resolve(schema)
        var out: [String] = []
        if case .array(let options)? = schema["oneOf"] {
            let matching = options.filter { problems(value, $0, at: path).isEmpty }.count
            if matching != 1 { out.append("\(path): matches \(matching) of oneOf, not 1") }
        }
        if let type = schema["type"] {
            let types: [String]
            switch type {
            case .string(let t): types = [t]
            case .array(let list): types = list.compactMap { if case .string(let t) = $0 { t } else { nil } }
            default: types = []
            }
            if !types.contains(where: { Self.matches(value, $0) }) {
                return out + ["\(path): \(value) is not of type \(types)"]
            }
        }
        if case .array(let values)? = schema["enum"], !values.contains(value) {
            out.append("\(path): \(value) not in enum")
        }
        if let c = schema["const"], c != value { out.append("\(path): \(value) is not \(c)") }
        if let n = value.number {
            if let m = schema["minimum"]?.number, n < m { out.append("\(path): \(n) < minimum \(m)") }
            if let m = schema["maximum"]?.number, n > m { out.append("\(path): \(n) > maximum \(m)") }
            if let m = schema["exclusiveMinimum"]?.number, n <= m { out.append("\(path): \(n) <= \(m)") }
            if let m = schema["exclusiveMaximum"]?.number, n >= m { out.append("\(path): \(n) >= \(m)") }
        }
        if case .string(let s) = value {
            if let m = schema["maxLength"]?.number, Double(s.count) > m { out.append("\(path): longer than \(m)") }
            if case .string(let p)? = schema["pattern"], (try? Regex(p)).map({ s.contains($0) }) != true {
                out.append("\(path): '\(s)' does not match \(p)")
            }
        }
        if case .array(let items) = value {
            if let m = schema["minItems"]?.number, Double(items.count) < m {
                out.append("\(path): fewer than \(m) items")
            }
            if let m = schema["maxItems"]?.number, Double(items.count) > m {
                out.append("\(path): more than \(m) items")
            }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { out += problems(item, itemSchema, at: "\(path)[\(i)]") }
            }
        }
        if case .object(let object) = value {
            let properties: [String: JSONValue]
            if case .object(let p)? = schema["properties"] { properties = p } else { properties = [:] }
            if case .array(let required)? = schema["required"] {
                for case .string(let key) in required where object[key] == nil {
                    out.append("\(path): '\(key)' is required")
                }
            }
            if let m = schema["maxProperties"]?.number, Double(object.count) > m {
                out.append("\(path): too many keys")
            }
            for (key, item) in object {
                if let p = properties[key] {
                    out += problems(item, p, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] {
                    if extra == .bool(false) {
                        out.append("\(path): '\(key)' is not in the schema")
                    } else if case .object = extra {
                        out += problems(item, extra, at: "\(path).\(key)")
                    }
                }
            }
        }
        return out
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("integer", .int), ("number", .int), ("number", .double):
            true
        case ("integer", .double(let d)): d.rounded() == d
        default: false
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct OpenAPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func document() throws -> (text: String, json: JSONValue) {
        let text = try String(contentsOf: repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        return (text, JSONValue(yaml: try Yams.load(yaml: text)))
    }

    /// "METHOD /path" of every operation in the document.
    static func operations(_ doc: JSONValue) -> Set<String> {
        guard case .object(let paths)? = doc["paths"] else { return [] }
        var out: Set<String> = []
        for (path, item) in paths {
            guard case .object(let methods) = item else { continue }
            for method in methods.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                out.insert("\(method.uppercased()) \(path)")
            }
        }
        return out
    }

    @Test func theDocumentAndTheRouterHaveTheSameRoutes() throws {
        let (_, doc) = try Self.document()
        #expect(doc["openapi"] == .string("3.1.0"))
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-routes-\(UUID())").path
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = ["serve", "--list-routes", "--set", "stateDirectory=\(state)", "--set", "log.level=error"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let routes = Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
        #expect(routes.count >= 14)
        let documented = Self.operations(doc)
        #expect(routes.subtracting(documented).isEmpty, "routes missing from openapi.yaml")
        #expect(documented.subtracting(routes).isEmpty, "documented routes the router does not have")
    }

    @Test func theServedDocumentIsTheRepositoryFile() async throws {
        let (text, _) = try Self.document()
        let server = try await TestServer()
        let served = try await server.request("GET", "/openapi.yaml")
        #expect(served.status == 200)
        #expect(served.text == text, "the binary serves openapi.yaml as compiled in (CEmbedded)")
        await server.stop()
    }

    @Test func theExamplesValidateAgainstTheirSchemas() throws {
        let (_, doc) = try Self.document()
        let validator = SchemaValidator(document: doc)
        var checked = 0
        // Every media type with both a schema and examples, anywhere in the document.
        func walk(_ node: JSONValue, _ path: String) {
            switch node {
            case .object(let o):
                if let schema = o["schema"], case .object(let examples)? = o["examples"] {
                    for (name, example) in examples {
                        let value = example["value"] ?? .null
                        let problems = validator.problems(value, schema)
                        #expect(problems.isEmpty, "\(path) example \(name): \(problems)")
                        checked += 1
                    }
                }
                for (k, v) in o { walk(v, path + "/" + k) }
            case .array(let a):
                for (i, v) in a.enumerated() { walk(v, path + "/\(i)") }
            default:
                break
            }
        }
        walk(doc, "#")
        #expect(checked >= 4)
        // A wrong body fails, so the validator can fail.
        let request = JSONValue.object(["name": .string("x"), "command": .array([]), "retires": .int(1)])
        #expect(validator.problems(request, .object(["$ref": .string("#/components/schemas/JobRequest")])).count >= 2)
    }

    @Test func liveResponsesMatchTheDocument() async throws {
        let (_, doc) = try Self.document()
        let validator = SchemaValidator(document: doc)
        func schema(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "0.3", "queues": #"{"q": {}}"#])
        let schedule = try await server.post(
            "/v1/schedules",
            json: ["name": "doc", "cron": "@daily", "job": ["name": "doc", "command": ["/bin/true"]]]
        )
        #expect(validator.problems(try JSONValue.parse(schedule.body), schema("Schedule")) == [])
        let paused = try await server.post("/v1/queues/q/pause", json: [:] as [String: Any])
        #expect(validator.problems(try JSONValue.parse(paused.body), schema("Queue")) == [])
        let created = try await server.post(
            "/v1/jobs",
            json: ["name": "doc", "command": ["/bin/sh", "-c", "exit 3"], "labels": ["a": "b"], "retries": 0]
        )
        #expect(validator.problems(try JSONValue.parse(created.body), schema("Job")) == [])
        _ = try await server.waitForEnd(1)
        try await Task.sleep(for: .milliseconds(500))
        let checks: [(String, String)] = [
            ("/v1/jobs/1", "Job"), ("/v1/jobs?limit=1", "JobPage"), ("/v1/health", "Health"),
            ("/v1/version", "Version"), ("/v1/stats?all=true", "AnalysisReport"), ("/v1/jobs/99", "Error"),
            ("/v1/jobs?limit=0", "Error"), ("/nowhere", "Error"), ("/v1/queues", "QueueList"),
            ("/v1/schedules", "ScheduleList"), ("/v1/schedules/1", "Schedule"),
        ]
        for (path, name) in checks {
            let reply = try await server.request("GET", path)
            let problems = validator.problems(try JSONValue.parse(reply.body), schema(name))
            #expect(problems.isEmpty, "\(path) as \(name): \(problems)")
        }
        await server.stop()
    }
}
