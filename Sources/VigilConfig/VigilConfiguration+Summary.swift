// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import VigilDetectors

extension VigilConfiguration {
    /// The effective configuration, one short line per section (and per override and asset),
    /// for `vigil check-config` and the daemon's startup log. Keys use the YAML names.
    public func renderSummary() -> String {
        var lines: [(String, String)] = []
        for e in ingest.endpoints { lines.append(("ingest", "pull \(e)")) }
        for s in ingest.subscribe {
            let topics = s.topics == [""] ? "all topics" : "topics " + s.topics.map(quoted).joined(separator: ", ")
            lines.append(("ingest", "sub \(s.mode.rawValue) \(s.endpoint), \(topics)" + (s.serverKey.map { ", server_key \($0)" } ?? "")))
        }
        lines.append(("ingest", "max_message_bytes \(ingest.maxMessageBytes), receive_hwm \(ingest.receiveHighWaterMark), drain_timeout \(renderDuration(ingest.drainTimeout))"))
        lines.append(("ingest", "reorder_window \(renderDuration(ingest.reorderWindow)), max_future \(renderDuration(ingest.maxFuture)), max_past \(renderDuration(ingest.maxPast))"))
        lines.append(("publish", "\(publish.endpoint), send_hwm \(publish.sendHighWaterMark)"))
        lines.append(("history", "\(history.endpoint), max_reply \(history.maxReply), max_request_bytes \(history.maxRequestBytes)"))
        lines.append(("metrics", metrics.listen.map { "http://\($0)/metrics" } ?? "off"))
        lines.append(("state", "\(state.directory), journal_retention \(renderDuration(state.journalRetention)), checkpoint_interval \(renderDuration(state.checkpointInterval))"))
        let workers = switch pipeline.workers {
        case .auto: "auto"
        case .count(let n): "\(n)"
        }
        lines.append(("pipeline", "workers \(workers), ring_capacity \(pipeline.ringCapacity), overflow \(pipeline.overflow.rawValue)"))
        lines.append(("limits", "max_sensors \(limits.maxSensors), sensor_idle_timeout \(renderDuration(limits.sensorIdleTimeout))"))
        lines.append(("logging", "level \(logging.level.rawValue)"))
        if let curve = security.curve {
            let n = curve.authorizedKeys.count
            lines.append(("security.curve", "secret_key_file \(curve.secretKeyFile), authorized_keys_file \(curve.authorizedKeysFile) (\(n) key\(n == 1 ? "" : "s"))"))
        }
        for section in SectionKey.allCases {
            let values = DetectorFields.rendered(section, of: detectors)
            let enabled = values.first { $0.key == "enabled" }?.value
            let rest = values.filter { $0.key != "enabled" }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let text = switch enabled {
            case "false": "off"
            case "true": "on: " + rest
            default: rest
            }
            lines.append(("detectors." + section.rawValue, text))
        }
        for (i, o) in sensors.enumerated() {
            lines.append(("sensors[\(i)]", "\(quoted(o.match.pattern)): " + change(o.changes)))
        }
        for (i, a) in assets.enumerated() {
            let members = a.sensors.map { quoted($0.pattern) }.joined(separator: ", ")
            lines.append(("assets[\(i)]", "\(a.name) = \(members)" + (a.changes.isEmpty ? "" : ": " + change(a.changes))))
        }
        lines.append(("grouping", "rule \(grouping.rule.rawValue), min_members \(grouping.minimumMembers), member_alerts \(grouping.memberAlerts.rawValue)"))
        for (i, r) in relations.enumerated() {
            let d = r.definition
            var text = "\(d.name) of \(r.assets.map { quoted($0.pattern) }.joined(separator: ", ")): \(d.expression.terms.map(\.text).joined(separator: " + "))"
            if !d.expression.fitted.isEmpty {
                text += ", fitted \(d.expression.fitted.joined(separator: ", ")) (warmup \(d.fitWarmup), memory \(d.fitMemory))"
            }
            if d.window > 1 { text += ", window \(d.window)" }
            lines.append(("relations[\(i)]", text))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n")
    }

    /// `30d`, `12h`, `15m`, `90s` (the largest unit that divides it), or `0`.
    private func renderDuration(_ d: Duration) -> String {
        let s = d.components.seconds
        if s == 0 { return "0" }
        for (unit, factor) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where s % factor == 0 {
            return "\(s / factor)\(unit)"
        }
        return "\(s)s"
    }

    private func change(_ changes: [String]) -> String {
        changes.isEmpty ? "no changes" : changes.joined(separator: ", ")
    }
}
