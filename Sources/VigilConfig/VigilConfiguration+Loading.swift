// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import VigilDetectors
internal import Yams

extension VigilConfiguration {
    /// Reads and validates the configuration file at `path`.
    ///
    /// A missing, unreadable or non-UTF-8 file, invalid YAML and every invalid key are reported
    /// together in the thrown `ConfigError`; problems carry `path` as their file. An empty file
    /// (or one holding only comments) gives the built-in defaults.
    public static func load(path: String) throws(ConfigError) -> VigilConfiguration {
        try parse(yaml: readConfigText(path: path, what: "configuration file"), file: path)
    }

    /// Parses and validates configuration text; `file` names it in problems.
    ///
    /// Keys left out keep their built-in defaults; empty text gives `VigilConfiguration()`.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> VigilConfiguration {
        try parseRecordingKeys(yaml: yaml, file: file).configuration
    }

    /// `parse(yaml:file:)`, also returning the key path of every key the text sets.
    static func parseRecordingKeys(yaml: String, file: String) throws(ConfigError)
        -> (configuration: VigilConfiguration, keyPaths: [String]) {
        var reader = ConfigReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(problems: [reader.syntaxProblem(error, in: yaml)])
        }
        var configuration = VigilConfiguration()
        if let root { reader.read(root, into: &configuration) }
        guard reader.problems.isEmpty else { throw ConfigError(problems: sortedProblems(reader.problems)) }
        return (configuration, reader.visitedKeyPaths)
    }
}

/// The text of a YAML file Vigil reads (`what`: "configuration file"), or a problem without a
/// position when it is missing, a directory, unreadable or not UTF-8.
func readConfigText(path: String, what: String) throws(ConfigError) -> String {
    func fail(_ message: String) -> ConfigError {
        ConfigError(problems: [ConfigProblem(code: .unreadableFile, file: path, line: 0, column: 0, keyPath: "",
                                             message: message)])
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        var message = "\(what) not found"
        if !path.hasPrefix("/") { message += " (looked in \(FileManager.default.currentDirectoryPath))" }
        throw fail(message)
    }
    if isDirectory.boolValue { throw fail("is a directory, not a \(what)") }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw fail("cannot read \(what) (permission denied?)")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw fail("\(what) is not valid UTF-8") }
    return text
}

/// Problems in file order (line, column, then the order found).
func sortedProblems(_ problems: [ConfigProblem]) -> [ConfigProblem] {
    problems.enumerated().sorted {
        ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
    }.map(\.element)
}

// MARK: - The walk

/// Every key of the configuration file, by section: the reader accepts exactly these.
enum ConfigKeys {
    static let topLevel = ["ingest", "publish", "history", "metrics", "state", "pipeline", "limits", "logging",
                           "security", "detectors", "sensors", "assets", "grouping", "nats", "relations"]
    static let ingest = ["endpoints", "subscribe", "max_message_bytes", "receive_hwm", "drain_timeout",
                         "reorder_window", "max_future", "max_past", "mqtt"]
    static let nats = ["servers", "ingest_stream", "partitions", "owned_partitions", "alert_stream", "replicas",
                       "lease_ttl", "ack_wait"]
    static let mqtt = ["url", "topics", "qos", "client_id", "username", "password", "tls"]
    static let mqttTLS = ["ca_file", "cert_file", "key_file", "insecure"]
    static let subscription = ["endpoint", "mode", "topics", "server_key"]
    static let publish = ["endpoint", "send_hwm"]
    static let history = ["endpoint", "max_reply", "max_request_bytes"]
    static let metrics = ["listen"]
    static let state = ["directory", "journal_retention", "checkpoint_interval"]
    static let pipeline = ["workers", "ring_capacity", "overflow"]
    static let limits = ["max_sensors", "sensor_idle_timeout"]
    static let logging = ["level"]
    static let grouping = ["rule", "min_members", "member_alerts"]
    static let security = ["curve"]
    static let curve = ["secret_key_file", "authorized_keys_file"]
    static var detectors: [String] { SectionKey.allCases.map(\.rawValue) }
    static var sensorOverride: [String] { ["match"] + detectors }
    static var asset: [String] { ["name", "sensors"] + detectors }

    /// The key path of every default the configuration has (list entries left out), e.g.
    /// `detectors.zscore.window`: what a file that spells out every default sets.
    static var defaultKeyPaths: [String] {
        let sections: [(String, [String])] = [
            ("ingest", ingest), ("publish", publish), ("history", history), ("metrics", metrics),
            ("state", state), ("pipeline", pipeline), ("limits", limits), ("logging", logging),
            ("grouping", grouping),
        ]
        // `security` and `nats` are absent by default: the shipped file shows them commented out;
        // so is `ingest.mqtt`.
        var paths = topLevel.filter { $0 != "security" && $0 != "nats" }
        for (section, keys) in sections { paths += keys.map { "\(section).\($0)" } }
        paths.removeAll { $0 == "ingest.mqtt" }
        for section in SectionKey.allCases {
            paths.append("detectors.\(section.rawValue)")
            // Keys without a default of their own (a section's raise_after: unset means `alerts`) left out.
            paths += DetectorFields.rendered(section, of: VigilConfiguration.Detectors()).map {
                "detectors.\(section.rawValue).\($0.key)"
            }
        }
        paths += DetectorKind.combinable.map { "detectors.combine.weights.\($0.rawValue)" }
        return paths
    }
}

/// Where a detector patch is written, which decides what it may set.
private enum PatchContext {
    case defaults, sensor, asset
}

extension ConfigReader {
    /// Turns a Yams error into a problem with the position libyaml reported.
    func syntaxProblem(_ error: any Error, in yaml: String) -> ConfigProblem {
        func problem(_ line: Int, _ column: Int, _ message: String) -> ConfigProblem {
            ConfigProblem(code: .syntax, file: file, line: line, column: column, keyPath: "", message: message)
        }
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        guard let error = error as? YamlError else { return problem(0, 0, "invalid YAML: \(error)") }
        switch error {
        case .scanner(let context, let message, let mark, _), .parser(let context, let message, let mark, _),
             .composer(let context, let message, let mark, _):
            var text = withContext(message, context)
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            if mark.line >= 1, mark.line <= lines.count, lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                text += "; YAML is indented with spaces, not tabs"
            }
            return problem(mark.line, mark.column, text)
        case .reader(let message, let offset, _, _):
            var line = 0, column = 0
            if let offset {
                let prefix = yaml.prefix(offset)
                line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            return problem(line, column, "invalid input: \(message)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map(quoted).joined(separator: ", ")
            return problem(context.mark.line, context.mark.column,
                           "invalid YAML: key \(keys) appears more than once in the same mapping")
        default:
            return problem(0, 0, "invalid YAML: \(error)")
        }
    }

    mutating func read(_ root: Node, into c: inout VigilConfiguration) {
        if !isNull(root), root.mapping == nil {
            report(.wrongType, at: root, "", "expected a mapping of sections (ingest, publish, …), got \(describe(root))")
            return
        }
        var locations: [String: SourceLocation] = [:]
        var relations: Entry?
        for e in entries(of: root, "", known: ConfigKeys.topLevel) {
            switch e.key {
            case "ingest": readIngest(e, into: &c.ingest, &locations)
            case "publish": readPublish(e, into: &c.publish, &locations)
            case "history": readHistory(e, into: &c.history, &locations)
            case "metrics": readMetrics(e, into: &c.metrics)
            case "state": readState(e, into: &c.state)
            case "pipeline": readPipeline(e, into: &c.pipeline)
            case "limits": readLimits(e, into: &c.limits)
            case "logging": readLogging(e, into: &c.logging)
            case "security": readSecurity(e, into: &c.security, &locations)
            case "detectors": readDetectors(e, into: &c.detectors)
            case "sensors": c.sensors = readSensors(e, defaults: c.detectors)
            case "assets": c.assets = readAssets(e, defaults: c.detectors)
            case "grouping": readGrouping(e, into: &c.grouping)
            case "nats": c.nats = readNATS(e)
            case "relations": relations = e  // read after the assets, wherever they are written
            default: break
            }
        }
        if let relations { c.relations = readRelations(relations, assets: c.assets) }
        checkEndpoints(of: c, locations)
        checkSubscriptionKeys(of: c, locations)
    }

    // MARK: Sockets

    private mutating func endpoint(_ node: Node, _ path: String, binds: Bool,
                                   _ locations: inout [String: SourceLocation]) -> String? {
        guard let value = string(node, path, what: "an endpoint (tcp://host:port, ipc://path or inproc://name)") else {
            return nil
        }
        if let problem = endpointProblem(value, binds: binds) {
            report(.invalidValue, at: node, path, problem)
            return nil
        }
        locations[path] = SourceLocation(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, keyPath: path)
        return value
    }

    private mutating func readIngest(_ section: Entry, into ingest: inout VigilConfiguration.Ingest,
                                     _ locations: inout [String: SourceLocation]) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.ingest) {
            switch e.key {
            case "endpoints":
                let before = problems.count
                ingest.endpoints = items(of: e.value, e.path).compactMap { endpoint($0.node, $0.path, binds: true, &locations) }
                // A wrong list is reported already; "at least one endpoint" would only pile onto it.
                if problems.count != before { ingestListFailed = true }
                locations["ingest.endpoints"] = SourceLocation(line: e.keyNode.mark?.line ?? 0,
                                                               column: e.keyNode.mark?.column ?? 0, keyPath: e.path)
            case "subscribe":
                let before = problems.count
                ingest.subscribe = items(of: e.value, e.path).compactMap { readSubscription($0.node, $0.path, &locations) }
                if problems.count != before { ingestListFailed = true }
            case "max_message_bytes":
                if let v = int(e.value, e.path, min: 1, max: Int(Int32.max)) { ingest.maxMessageBytes = v }
            case "receive_hwm":
                if let v = int(e.value, e.path, min: 0, max: Int(Int32.max)) { ingest.receiveHighWaterMark = v }
            case "drain_timeout":
                if let v = duration(e.value, e.path) {
                    if v > .seconds(3600) {
                        report(.outOfRange, at: e.value, e.path, "expected at most 1h (systemd kills a daemon that takes longer to stop), got \(describe(e.value))")
                    } else {
                        ingest.drainTimeout = v
                    }
                }
            case "reorder_window":
                if let v = duration(e.value, e.path) { ingest.reorderWindow = v }
            case "max_future":
                if let v = duration(e.value, e.path) { ingest.maxFuture = v }
            case "max_past":
                if let v = duration(e.value, e.path) { ingest.maxPast = v }
            case "mqtt":
                let before = problems.count
                ingest.mqtt = items(of: e.value, e.path).compactMap { readMQTT($0.node, $0.path) }
                if problems.count != before { ingestListFailed = true }
            default: break
            }
        }
    }

    private mutating func readSubscription(_ node: Node, _ path: String,
                                           _ locations: inout [String: SourceLocation]) -> VigilConfiguration.Subscription? {
        if node.mapping == nil {
            report(.wrongType, at: node, path, "expected a mapping {endpoint, mode, topics}, got \(describe(node))")
            return nil
        }
        var endpointNode: Node?
        var mode: VigilConfiguration.Subscription.Mode = .connect
        var topics = [""]
        var serverKey: CurveKey?
        var ok = true
        locations[path] = SourceLocation(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, keyPath: path)
        for e in entries(of: node, path, known: ConfigKeys.subscription) {
            switch e.key {
            case "endpoint": endpointNode = e.value
            case "server_key":
                guard let text = string(e.value, e.path, what: "a CURVE public key (40 Z85 characters)") else { ok = false; continue }
                do throws(CurveKeyError) {
                    serverKey = try CurveKey(z85: text)
                    locations[e.path] = SourceLocation(line: e.value.mark?.line ?? 0, column: e.value.mark?.column ?? 0, keyPath: e.path)
                } catch {
                    report(.invalidValue, at: e.value, e.path, "not a Z85 CURVE public key: \(error.message)")
                    ok = false
                }
            case "mode":
                if let m = choice(e.value, e.path, of: VigilConfiguration.Subscription.Mode.self) { mode = m } else { ok = false }
            case "topics":
                let list = items(of: e.value, e.path)
                let read = list.compactMap { string($0.node, $0.path, what: "a topic prefix") }
                if read.count != list.count { ok = false }
                if list.isEmpty {
                    report(.invalidValue, at: e.value, e.path,
                           "expected at least one topic prefix (\"\" subscribes to every topic)")
                    ok = false
                }
                topics = read
            default: break
            }
        }
        guard let endpointNode else {
            report(.missingKey, at: node, join(path, "endpoint"), "a subscription needs an endpoint")
            return nil
        }
        guard let value = endpoint(endpointNode, join(path, "endpoint"), binds: mode == .bind, &locations), ok else {
            return nil
        }
        return VigilConfiguration.Subscription(endpoint: value, mode: mode, topics: topics, serverKey: serverKey)
    }

    private mutating func readPublish(_ section: Entry, into publish: inout VigilConfiguration.Publish,
                                      _ locations: inout [String: SourceLocation]) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.publish) {
            switch e.key {
            case "endpoint": if let v = endpoint(e.value, e.path, binds: true, &locations) { publish.endpoint = v }
            case "send_hwm": if let v = int(e.value, e.path, min: 0, max: Int(Int32.max)) { publish.sendHighWaterMark = v }
            default: break
            }
        }
    }

    private mutating func readHistory(_ section: Entry, into history: inout VigilConfiguration.History,
                                      _ locations: inout [String: SourceLocation]) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.history) {
            switch e.key {
            case "endpoint": if let v = endpoint(e.value, e.path, binds: true, &locations) { history.endpoint = v }
            case "max_reply": if let v = int(e.value, e.path, min: 1, max: Int(Int32.max)) { history.maxReply = v }
            case "max_request_bytes": if let v = int(e.value, e.path, min: 256, max: 1 << 20) { history.maxRequestBytes = v }
            default: break
            }
        }
    }

    /// At least one ingest socket; no endpoint used twice by ingest, nor bound twice overall.
    private mutating func checkEndpoints(of c: VigilConfiguration, _ locations: [String: SourceLocation]) {
        if c.ingest.endpoints.isEmpty && c.ingest.subscribe.isEmpty && c.ingest.mqtt.isEmpty && c.nats == nil && !ingestListFailed {
            let at = locations["ingest.endpoints"] ?? SourceLocation(line: 0, column: 0, keyPath: "ingest.endpoints")
            report(.invalidValue, at: at, "at least one ingest endpoint is needed (ingest.endpoints, ingest.subscribe, ingest.mqtt or nats)")
        }
        struct Use {
            var endpoint: String
            var path: String
            var binds: Bool
            var isIngest: Bool
        }
        var uses = c.ingest.endpoints.enumerated().map {
            Use(endpoint: $1, path: "ingest.endpoints[\($0)]", binds: true, isIngest: true)
        }
        uses += c.ingest.subscribe.enumerated().map {
            Use(endpoint: $1.endpoint, path: "ingest.subscribe[\($0)].endpoint", binds: $1.mode == .bind, isIngest: true)
        }
        uses.append(Use(endpoint: c.publish.endpoint, path: "publish.endpoint", binds: true, isIngest: false))
        uses.append(Use(endpoint: c.history.endpoint, path: "history.endpoint", binds: true, isIngest: false))
        // Sort by position so the later of two uses is blamed; unwritten defaults count as first.
        func position(_ u: Use) -> (Int, Int) {
            locations[u.path].map { ($0.line, $0.column) } ?? (0, 0)
        }
        let ordered = uses.sorted { position($0) < position($1) }
        for (i, use) in ordered.enumerated() {
            guard let earlier = ordered[..<i].first(where: {
                $0.endpoint == use.endpoint && (($0.isIngest && use.isIngest) || ($0.binds && use.binds))
            }) else { continue }
            let at = locations[use.path] ?? SourceLocation(line: 0, column: 0, keyPath: use.path)
            let other = locations[earlier.path].map { "\(earlier.path), line \($0.line)" } ?? "\(earlier.path) (default)"
            if earlier.isIngest && use.isIngest {
                report(.duplicate, at: at, "duplicate ingest endpoint \(quoted(use.endpoint)), also at \(other)")
            } else {
                report(.duplicate, at: at, "endpoint \(quoted(use.endpoint)) is already bound by \(other)")
            }
        }
    }

    /// `server_key` goes with `security.curve` and `mode: connect`; with `security.curve`, every
    /// connecting subscription needs one (fail closed: no unauthenticated connection).
    private mutating func checkSubscriptionKeys(of c: VigilConfiguration, _ locations: [String: SourceLocation]) {
        for (i, s) in c.ingest.subscribe.enumerated() {
            let path = "ingest.subscribe[\(i)]"
            let at = locations[path + ".server_key"] ?? locations[path] ?? SourceLocation(line: 0, column: 0, keyPath: path)
            if s.serverKey != nil, s.mode == .bind {
                report(.inconsistent, at: at,
                       "server_key is for mode: connect; a bound SUB socket is a CURVE server with security.curve, and the publishers that connect to it are checked against authorized_keys_file")
            } else if s.serverKey != nil, c.security.curve == nil {
                report(.inconsistent, at: at,
                       "server_key needs security.curve: the daemon's own key pair is its CURVE identity towards the publisher")
            } else if s.serverKey == nil, s.mode == .connect, c.security.curve != nil {
                report(.missingKey, at: SourceLocation(line: at.line, column: at.column, keyPath: path + ".server_key"),
                       "with security.curve, a connecting subscription needs server_key, the publisher's CURVE public key (40 Z85 characters); vigild makes no unauthenticated connection")
            }
        }
    }

    private mutating func readSecurity(_ section: Entry, into security: inout VigilConfiguration.Security,
                                       _ locations: inout [String: SourceLocation]) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.security) {
            // `curve:` with nothing after it is a section missing both keys, not "no CURVE".
            var secret: (path: String, node: Node)?
            var authorized: (path: String, node: Node)?
            let fields = entries(of: e.value, e.path, known: ConfigKeys.curve)
            if !isNull(e.value), e.value.mapping == nil { continue }  // reported by entries(of:)
            for f in fields {
                guard let v = string(f.value, f.path, what: "a file path") else { continue }
                if v.isEmpty {
                    report(.invalidValue, at: f.value, f.path, "expected a file path, got \"\"")
                    continue
                }
                if f.key == "secret_key_file" { secret = (v, f.value) } else { authorized = (v, f.value) }
            }
            for (key, value) in [("secret_key_file", secret), ("authorized_keys_file", authorized)] where value == nil {
                if !fields.contains(where: { $0.key == key }) {
                    report(.missingKey, at: e.keyNode, join(e.path, key),
                           key == "secret_key_file"
                               ? "security.curve needs the daemon's secret key file (written by vigil keygen --out PATH, as PATH.key)"
                               : "security.curve needs the file of authorized client public keys (one Z85 key a line, # comments)")
                }
            }
            var secretKey: CurveSecretKey?
            var keys: [CurveKey]?
            if let secret {
                do throws(KeyFileError) {
                    secretKey = try CurveKeyFile.readSecretKey(path: secret.path)
                } catch {
                    report(Self.code(of: error), at: secret.node, join(e.path, "secret_key_file"), error.description)
                }
            }
            if let authorized {
                do throws(KeyFileError) {
                    keys = try CurveKeyFile.readAuthorizedKeys(path: authorized.path)
                } catch {
                    report(Self.code(of: error), at: authorized.node, join(e.path, "authorized_keys_file"), error.description)
                }
            }
            locations[e.path] = SourceLocation(line: e.keyNode.mark?.line ?? 0, column: e.keyNode.mark?.column ?? 0, keyPath: e.path)
            if let secret, let authorized, let secretKey, let keys {
                security.curve = VigilConfiguration.Curve(secretKeyFile: secret.path, authorizedKeysFile: authorized.path,
                                                          secretKey: secretKey, authorizedKeys: keys)
            }
        }
    }

    /// The config problem code for a key file's problem.
    static func code(of error: KeyFileError) -> ConfigProblem.Code {
        switch error.code {
        case .missing, .unreadable: .unreadableFile
        case .insecurePermissions: .insecurePermissions
        default: .invalidValue
        }
    }

    // MARK: Other sections

    private mutating func readMetrics(_ section: Entry, into metrics: inout VigilConfiguration.Metrics) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.metrics) {
            // `off`, `false`, `""` and an empty value disable the listener.
            if isNull(e.value) || e.value.bool == false && tagName(e.value) == .bool {
                metrics.listen = nil
                continue
            }
            guard let text = string(e.value, e.path, what: "host:port, or \"\" or off to disable") else { continue }
            if text.isEmpty || text == "off" {
                metrics.listen = nil
            } else if let address = parseHostPort(text) {
                metrics.listen = address
            } else {
                report(.invalidValue, at: e.value, e.path,
                       "expected host:port (e.g. 127.0.0.1:9464, [::1]:9464), or \"\" or off to disable, got \(describe(e.value))")
            }
        }
    }

    private mutating func readState(_ section: Entry, into state: inout VigilConfiguration.State) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.state) {
            switch e.key {
            case "journal_retention":
                if let v = duration(e.value, e.path) { state.journalRetention = v }
            case "checkpoint_interval":
                if let v = duration(e.value, e.path) { state.checkpointInterval = v }
            default:
                guard let v = string(e.value, e.path, what: "a directory path") else { continue }
                if v.isEmpty {
                    report(.invalidValue, at: e.value, e.path, "expected a directory path, got \"\"")
                } else {
                    state.directory = v
                }
            }
        }
    }

    private mutating func readPipeline(_ section: Entry, into pipeline: inout VigilConfiguration.Pipeline) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.pipeline) {
            switch e.key {
            case "workers":
                if tagName(e.value) == .int {
                    if let n = int(e.value, e.path, min: 1, max: 1024) { pipeline.workers = .count(n) }
                } else if case .scalar(let s) = e.value, s.string == "auto" {
                    pipeline.workers = .auto
                } else {
                    report(.wrongType, at: e.value, e.path, "expected auto or an integer ≥ 1, got \(describe(e.value))")
                }
            case "ring_capacity":
                if let n = int(e.value, e.path, min: 1024, max: 1 << 30) {
                    pipeline.ringCapacity = 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
                }
            case "overflow":
                if let v = choice(e.value, e.path, of: OverflowPolicy.self) { pipeline.overflow = v }
            default: break
            }
        }
    }

    private mutating func readLimits(_ section: Entry, into limits: inout VigilConfiguration.Limits) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.limits) {
            switch e.key {
            case "max_sensors":
                if let v = int(e.value, e.path, min: 1, max: SensorRegistry.maximumLimit) { limits.maxSensors = v }
            case "sensor_idle_timeout":
                if let v = duration(e.value, e.path) { limits.sensorIdleTimeout = v }
            default: break
            }
        }
    }

    private mutating func readGrouping(_ section: Entry, into grouping: inout VigilConfiguration.Grouping) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.grouping) {
            switch e.key {
            case "rule": if let v = choice(e.value, e.path, of: VigilConfiguration.Grouping.Rule.self) { grouping.rule = v }
            case "min_members": if let v = int(e.value, e.path, min: 2, max: 65_536) { grouping.minimumMembers = v }
            case "member_alerts": if let v = choice(e.value, e.path, of: MemberAlerts.self) { grouping.memberAlerts = v }
            default: break
            }
        }
    }

    private mutating func readLogging(_ section: Entry, into logging: inout VigilConfiguration.Logging) {
        for e in entries(of: section.value, section.path, known: ConfigKeys.logging) {
            if let v = choice(e.value, e.path, of: VigilConfiguration.LogLevel.self) { logging.level = v }
        }
    }

    // MARK: Detectors

    /// Reads detector sections (`zscore: {…}`, …) of one config entry into a patch.
    private mutating func readPatch(_ sections: [Entry], _ context: PatchContext) -> DetectorPatch {
        var patch = DetectorPatch()
        for s in sections {
            guard let section = SectionKey(rawValue: s.key) else { continue }
            if section == .pca, context == .sensor {
                report(.invalidValue, at: s.keyNode, s.path,
                       "pca monitors an asset; set it in detectors (every asset) or in an assets entry")
                continue
            }
            for e in entries(of: s.value, s.path, known: DetectorFields.keys(of: section)) {
                guard let value = DetectorFields.read(section, e.key, &self, e.value, e.path) else { continue }
                if let problem = DetectorFields.contextProblem(section, e.key, value, inAsset: context == .asset) {
                    report(.invalidValue, at: e.value, e.path, problem)
                    continue
                }
                let location = SourceLocation(line: e.value.mark?.line ?? 0, column: e.value.mark?.column ?? 0, keyPath: e.path)
                patch.entries.append(PatchEntry(section: section, key: e.key, value: value, location: location))
            }
        }
        return patch
    }

    /// Reports contradictions in `detectors` after `patch`, blaming the keys `patch` sets
    /// (contradictions it does not take part in were reported where they arose).
    private mutating func checkConsistency(_ patch: DetectorPatch, on base: VigilConfiguration.Detectors, suffix: String = "") {
        var d = base
        d.apply(patch)
        for problem in d.inconsistencies {
            guard let entry = patch.entry(problem.section, problem.keys) else { continue }
            report(.inconsistent, at: entry.location, problem.message + suffix)
        }
    }

    private mutating func readDetectors(_ section: Entry, into detectors: inout VigilConfiguration.Detectors) {
        let sections = entries(of: section.value, section.path, known: ConfigKeys.detectors)
        let patch = readPatch(sections, .defaults)
        checkConsistency(patch, on: detectors)
        detectors.apply(patch)
    }

    private mutating func readSensors(_ section: Entry, defaults: VigilConfiguration.Detectors) -> [VigilConfiguration.SensorOverride] {
        var out: [VigilConfiguration.SensorOverride] = []
        for item in items(of: section.value, section.path) {
            if item.node.mapping == nil {
                report(.wrongType, at: item.node, item.path, "expected a mapping {match, zscore, …}, got \(describe(item.node))")
                continue
            }
            let all = entries(of: item.node, item.path, known: ConfigKeys.sensorOverride)
            var match: Glob?
            var matchWritten = false
            for e in all where e.key == "match" {
                matchWritten = true
                match = glob(e.value, e.path)
            }
            if !matchWritten {
                report(.missingKey, at: item.node, join(item.path, "match"), "an override needs a match glob, e.g. match: \"plant1/*/vibration\"")
            }
            let patch = readPatch(all.filter { $0.key != "match" }, .sensor)
            guard let match else { continue }
            checkConsistency(patch, on: defaults, suffix: " for sensors matching \(quoted(match.pattern))")
            out.append(VigilConfiguration.SensorOverride(match: match, patch: patch))
        }
        return out
    }

    private mutating func readAssets(_ section: Entry, defaults: VigilConfiguration.Detectors) -> [VigilConfiguration.Asset] {
        var out: [VigilConfiguration.Asset] = []
        var names: [String: Int] = [:]
        for item in items(of: section.value, section.path) {
            if item.node.mapping == nil {
                report(.wrongType, at: item.node, item.path, "expected a mapping {name, sensors, …}, got \(describe(item.node))")
                continue
            }
            let all = entries(of: item.node, item.path, known: ConfigKeys.asset)
            var name: String?
            var globs: [Glob]?
            for e in all {
                switch e.key {
                case "name":
                    guard let n = string(e.value, e.path, what: "an asset name") else { continue }
                    if n.isEmpty {
                        report(.invalidValue, at: e.value, e.path, "expected an asset name, got \"\"")
                    } else if let line = names[n] {
                        report(.duplicate, at: e.value, e.path, "duplicate asset name \(quoted(n)), also at line \(line)")
                    } else {
                        names[n] = e.value.mark?.line ?? 0
                        name = n
                    }
                case "sensors":
                    globs = globList(e, what: "an asset", example: "sensors: [\"plant1/pump7/*\"]")
                default: break
                }
            }
            if !all.contains(where: { $0.key == "name" }) {
                report(.missingKey, at: item.node, join(item.path, "name"), "an asset needs a name, e.g. name: plant1/pump7")
            }
            if !all.contains(where: { $0.key == "sensors" }) {
                report(.missingKey, at: item.node, join(item.path, "sensors"),
                       "an asset needs its sensors, e.g. sensors: [\"plant1/pump7/*\"]")
            }
            let patch = readPatch(all.filter { $0.key != "name" && $0.key != "sensors" }, .asset)
            guard let name, let globs else { continue }
            checkConsistency(patch, on: defaults, suffix: " for the sensors of asset \(quoted(name))")
            out.append(VigilConfiguration.Asset(name: name, sensors: globs, patch: patch))
        }
        return out
    }
}

// MARK: - Addresses

/// Why `endpoint` is not a ZeroMQ endpoint Vigil accepts, or nil when it is.
/// `binds` allows the wildcards `*` (any interface, any port) that only `zmq_bind` understands.
func endpointProblem(_ endpoint: String, binds: Bool) -> String? {
    let form = "expected an endpoint of the form tcp://host:port, ipc://path or inproc://name, got \(quoted(endpoint))"
    if endpoint.hasPrefix("ipc://") {
        return endpoint.count > "ipc://".count ? nil : "ipc:// endpoint without a path"
    }
    if endpoint.hasPrefix("inproc://") {
        return endpoint.count > "inproc://".count ? nil : "inproc:// endpoint without a name"
    }
    guard endpoint.hasPrefix("tcp://") else { return form }
    let rest = String(endpoint.dropFirst("tcp://".count))
    guard let (host, port) = splitHostPort(rest) else { return form }
    if host == "*" || port == "*" {
        return binds ? nil : "wildcard * in \(quoted(endpoint)) is only valid for a bound socket (mode: bind)"
    }
    guard isValidHost(host) else { return "invalid host \(quoted(host)) in \(quoted(endpoint))" }
    guard port.utf8.allSatisfy({ (48...57).contains($0) }), let p = Int(port), (1...65535).contains(p) else {
        return "invalid port \(quoted(port)) in \(quoted(endpoint)) (expected 1...65535)"
    }
    return nil
}

/// `host:port` or `[v6]:port` split at the port's colon; nil when there is no port.
private func splitHostPort(_ s: String) -> (host: String, port: String)? {
    if s.hasPrefix("[") {
        guard let close = s.firstIndex(of: "]") else { return nil }
        let host = String(s[s.index(after: s.startIndex)..<close])
        let after = s[s.index(after: close)...]
        guard after.hasPrefix(":"), !host.isEmpty else { return nil }
        return (host, String(after.dropFirst()))
    }
    guard let colon = s.lastIndex(of: ":") else { return nil }
    let host = String(s[..<colon])
    let port = String(s[s.index(after: colon)...])
    guard !host.isEmpty, !port.isEmpty, !host.contains(":") else { return nil }
    return (host, port)
}

/// A host name, IPv4 address, interface name or (unbracketed) IPv6 address.
private func isValidHost(_ host: String) -> Bool {
    guard !host.isEmpty, host.utf8.count <= 253 else { return false }
    if host.contains(":") {
        return host.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." || $0 == "%" }
    }
    return host.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == "_"
    }
}

/// Parses `host:port` (`[v6]:port`) for a TCP listener; nil when malformed.
func parseHostPort(_ s: String) -> VigilConfiguration.HostPort? {
    guard let (host, port) = splitHostPort(s), isValidHost(host), port.utf8.allSatisfy({ (48...57).contains($0) }),
          let p = Int(port), (1...65535).contains(p) else { return nil }
    return VigilConfiguration.HostPort(host: host, port: p)
}
