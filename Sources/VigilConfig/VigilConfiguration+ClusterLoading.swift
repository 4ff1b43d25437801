// SPDX-License-Identifier: GPL-3.0-or-later
internal import Yams

extension ConfigReader {
    /// `nats`: every key checked; `owned_partitions` against `partitions` once both are read.
    mutating func readNATS(_ section: Entry) -> VigilConfiguration.NATS? {
        var nats = VigilConfiguration.NATS()
        var owned: (list: [Int], node: Node, path: String)?
        let before = problems.count
        for e in entries(of: section.value, section.path, known: ConfigKeys.nats) {
            switch e.key {
            case "servers":
                let list = items(of: e.value, e.path)
                var servers: [String] = []
                for item in list {
                    guard let url = string(item.node, item.path, what: "a server URL such as nats://127.0.0.1:4222") else { continue }
                    if let problem = natsURLProblem(url) {
                        report(.invalidValue, at: item.node, item.path, problem)
                    } else {
                        servers.append(url)
                    }
                }
                if list.isEmpty { report(.invalidValue, at: e.value, e.path, "expected at least one server URL such as nats://127.0.0.1:4222") }
                nats.servers = servers
            case "ingest_stream":
                if let v = streamName(e.value, e.path) { nats.ingestStream = v }
            case "alert_stream":
                if let v = streamName(e.value, e.path) { nats.alertStream = v }
            case "partitions":
                if let v = int(e.value, e.path, min: 1, max: 1024) { nats.partitions = v }
            case "owned_partitions":
                let list = items(of: e.value, e.path)
                var read: [Int] = []
                for item in list {
                    if let p = int(item.node, item.path, min: 0, max: 1023) {
                        if read.contains(p) {
                            report(.duplicate, at: item.node, item.path, "partition \(p) is listed twice")
                        } else {
                            read.append(p)
                        }
                    }
                }
                if list.isEmpty { report(.invalidValue, at: e.value, e.path, "expected at least one partition (omit the key to own all of them)") }
                owned = (read, e.value, e.path)
            case "replicas":
                if let v = int(e.value, e.path, min: 1, max: 5) { nats.replicas = v }
            case "lease_ttl":
                if let v = atLeastOneSecond(e) { nats.leaseTTL = v }
            case "ack_wait":
                if let v = atLeastOneSecond(e) { nats.ackWait = v }
            default: break
            }
        }
        if let owned {
            for (i, p) in owned.list.enumerated() where p >= nats.partitions {
                report(.inconsistent, at: owned.node, "\(owned.path)[\(i)]",
                       "partition \(p) does not exist: nats.partitions is \(nats.partitions) (partitions 0…\(nats.partitions - 1))")
            }
            nats.ownedPartitions = owned.list.filter { $0 < nats.partitions }
        } else {
            nats.ownedPartitions = Array(0..<nats.partitions)
        }
        if nats.ingestStream == nats.alertStream {
            report(.inconsistent, at: section.value, join(section.path, "alert_stream"),
                   "the alert stream must differ from the ingest stream (both are \(quoted(nats.ingestStream)))")
        }
        return problems.count == before ? nats : nil
    }

    /// The entry's duration when it is at least a second; otherwise reported, nil.
    private mutating func atLeastOneSecond(_ e: Entry) -> Duration? {
        guard let v = duration(e.value, e.path) else { return nil }
        guard v >= .seconds(1) else {
            report(.outOfRange, at: e.value, e.path, "expected at least 1s, got \(describe(e.value))")
            return nil
        }
        return v
    }

    /// A JetStream stream name: letters, digits, `_` and `-` (no `.`, `*`, `>` or spaces).
    private mutating func streamName(_ node: Node, _ path: String) -> String? {
        guard let v = string(node, path, what: "a stream name") else { return nil }
        let ok = !v.isEmpty && v.count <= 64 && v.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-"
        }
        guard ok else {
            report(.invalidValue, at: node, path, "expected a stream name of letters, digits, _ and - (at most 64), got \(describe(node))")
            return nil
        }
        return v
    }

    /// One `ingest.mqtt` entry.
    mutating func readMQTT(_ node: Node, _ path: String) -> VigilConfiguration.MQTT? {
        if node.mapping == nil {
            report(.wrongType, at: node, path, "expected a mapping {url, topics, qos, client_id, …}, got \(describe(node))")
            return nil
        }
        let before = problems.count
        var url: (host: String, port: Int, tls: Bool, text: String)?
        var topics: [String]?
        var entry = VigilConfiguration.MQTT(url: "", host: "", port: 0, tls: false, topics: [])
        for e in entries(of: node, path, known: ConfigKeys.mqtt) {
            switch e.key {
            case "url":
                guard let text = string(e.value, e.path, what: "a broker URL such as mqtt://127.0.0.1:1883") else { continue }
                if let parsed = parseMQTTURL(text) {
                    url = (parsed.host, parsed.port, parsed.tls, text)
                } else {
                    report(.invalidValue, at: e.value, e.path, "expected mqtt://host[:port] or mqtts://host[:port], got \(describe(e.value))")
                }
            case "topics":
                let list = items(of: e.value, e.path)
                topics = list.compactMap { item in
                    guard let t = string(item.node, item.path, what: "an MQTT topic filter") else { return nil }
                    if let problem = mqttFilterProblem(t) {
                        report(.invalidValue, at: item.node, item.path, problem)
                        return nil
                    }
                    return t
                }
                if list.isEmpty { report(.invalidValue, at: e.value, e.path, "expected at least one topic filter (# subscribes to every topic)") }
            case "qos":
                if let v = int(e.value, e.path, min: 0, max: 1) { entry.qos = v }
            case "client_id":
                if let v = string(e.value, e.path, what: "a client id") {
                    if v.isEmpty || v.utf8.count > 65_535 {
                        report(.invalidValue, at: e.value, e.path, "expected a non-empty client id")
                    } else {
                        entry.clientID = v
                    }
                }
            case "username": entry.username = string(e.value, e.path, what: "a user name")
            case "password": entry.password = string(e.value, e.path, what: "a password")
            case "tls":
                for t in entries(of: e.value, e.path, known: ConfigKeys.mqttTLS) {
                    switch t.key {
                    case "ca_file": entry.caFile = string(t.value, t.path, what: "a file path")
                    case "cert_file": entry.certFile = string(t.value, t.path, what: "a file path")
                    case "key_file": entry.keyFile = string(t.value, t.path, what: "a file path")
                    default: if let v = bool(t.value, t.path) { entry.insecure = v }
                    }
                }
                if (entry.certFile == nil) != (entry.keyFile == nil) {
                    report(.inconsistent, at: e.value, e.path, "tls.cert_file and tls.key_file go together (client certificate and its key)")
                }
            default: break
            }
        }
        if url == nil, problems.count == before {
            report(.missingKey, at: node, join(path, "url"), "an MQTT entry needs the broker's url (mqtt://host:port)")
        }
        if topics == nil, problems.count == before {
            report(.missingKey, at: node, join(path, "topics"), "an MQTT entry needs topics (the filters to subscribe to, e.g. plant1/#)")
        }
        if entry.password != nil, entry.username == nil {
            report(.inconsistent, at: node, join(path, "password"), "a password needs a username")
        }
        guard problems.count == before, let url, let topics else { return nil }
        entry.url = url.text
        entry.host = url.host
        entry.port = url.port
        entry.tls = url.tls
        entry.topics = topics
        return entry
    }
}

/// Why `url` is not a NATS server URL (nil when it is): `nats://host:port` or `tls://host:port`.
func natsURLProblem(_ url: String) -> String? {
    let schemes = ["nats://", "tls://"]
    guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
        return "expected a server URL such as nats://127.0.0.1:4222, got \(quoted(url))"
    }
    var rest = Substring(url.dropFirst(scheme.count))
    if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }  // user:password@
    guard parseHostPort(String(rest)) != nil else {
        return "expected host:port after \(scheme) (e.g. nats://127.0.0.1:4222), got \(quoted(url))"
    }
    return nil
}

/// `mqtt://host[:port]` or `mqtts://host[:port]`.
func parseMQTTURL(_ url: String) -> (host: String, port: Int, tls: Bool)? {
    let tls: Bool
    let rest: Substring
    if url.hasPrefix("mqtt://") { tls = false; rest = url.dropFirst(7) } else if url.hasPrefix("mqtts://") { tls = true; rest = url.dropFirst(8) } else { return nil }
    let text = rest.hasSuffix("/") ? String(rest.dropLast()) : String(rest)
    if let hp = parseHostPort(text) { return (hp.host, hp.port, tls) }
    if !text.isEmpty, !text.contains(":"), !text.contains("/") { return (text, tls ? 8883 : 1883, tls) }
    return nil
}

/// Why `filter` is not an MQTT topic filter (nil when it is): `#` only last and alone in its
/// level, `+` alone in its level, not empty.
func mqttFilterProblem(_ filter: String) -> String? {
    if filter.isEmpty { return "expected a topic filter, got \"\"" }
    let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
    for (i, level) in levels.enumerated() {
        if level.contains("#"), level != "#" || i != levels.count - 1 {
            return "# must be a whole level and the last one (e.g. plant1/#), got \(quoted(filter))"
        }
        if level.contains("+"), level != "+" {
            return "+ must be a whole level (e.g. plant1/+/vibration), got \(quoted(filter))"
        }
    }
    return nil
}
