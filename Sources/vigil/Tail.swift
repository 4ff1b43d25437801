// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import VigilCore
import ZeroMQ

/// `vigil tail`: the operator's live alert feed.
struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print alerts as they are published, one line each.",
        discussion: """
            With --since, journaled alerts are replayed from the history endpoint first, then the \
            feed goes live with no gap and no duplicate (alerts carry a daemon-wide seq).
            Examples:
              vigil tail
              vigil tail --sensor plant1/ --severity critical
              vigil tail --since 1h --json
              vigil tail --since 1042        # everything after seq 1042
            """)

    @Option(help: "The daemon's alert (PUB) endpoint.")
    var endpoint = "tcp://127.0.0.1:7002"

    @Option(help: "The daemon's history endpoint, used by --since.")
    var history = "tcp://127.0.0.1:7003"

    @Flag(help: "Print each alert as one JSON object per line (NDJSON).")
    var json = false

    @Option(help: "Only sensors whose id starts with this prefix (repeatable).")
    var sensor: [String] = []

    @Option(help: "Minimum severity: warning or critical.")
    var severity: Severity?

    @Option(help: "Replay history first: a duration (30s, 15m, 2h, 7d) or a seq number.")
    var since: String?

    @Option(help: "Exit after this many alerts.")
    var count: Int?

    @Option(help: "Exit after this many seconds without an alert (default: never).")
    var idleTimeout: Double?

    @Flag(inversion: .prefixedNo, help: "Colour on a terminal.")
    var color = true

    func validate() throws {
        if let since, SinceSpec(since) == nil {
            throw ValidationError("--since takes a duration such as 30s, 15m, 2h, 7d, or a seq number; got '\(since)'")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let context = try ZMQContext()
        let sub = try ZMQSocket(context: context, type: .sub)
        if sensor.isEmpty {
            try sub.subscribe("alert/")
        } else {
            for prefix in sensor { try sub.subscribe("alert/" + prefix) }
        }
        try sub.connect(endpoint)
        let printer = AlertPrinter(json: json, color: color && isatty(STDOUT_FILENO) != 0)
        var printed = 0
        var lastSeq: UInt64 = 0

        func show(_ record: AlertRecord) -> Bool {
            if let severity, record.severity < severity { return true }
            if !sensor.isEmpty, !sensor.contains(where: { record.sensor.hasPrefix($0) }) { return true }
            printer.print(record)
            printed += 1
            if let count, printed >= count { return false }
            return true
        }

        if let since, let spec = SinceSpec(since) {
            // Subscribe first (the SUB queue holds live alerts meanwhile), then read history.
            Thread.sleep(forTimeInterval: 0.2)
            let req = try ZMQSocket(context: context, type: .req)
            try req.setReceiveTimeout(5000)
            try req.connect(history)
            var request: String
            switch spec {
            case .seq(let n): request = "{\"since_seq\":\(n)}"
            case .duration(let seconds):
                let since = Int64((Date().timeIntervalSince1970 - seconds) * 1e9)
                request = "{\"since\":\(since)}"
            }
            while true {
                try req.send(request)
                guard let reply = try req.receiveFrame() else {
                    throw ValidationError("no answer from the history endpoint \(history) within 5 s")
                }
                let page = try JSONDecoder().decode(HistoryPage.self, from: Data(reply.bytes))
                if let error = page.error { throw ValidationError("history: \(error)") }
                for record in page.alerts ?? [] {
                    lastSeq = max(lastSeq, record.seq)
                    if !show(record) { return }
                }
                guard page.more == true, let next = page.last_seq else { break }
                request = "{\"since_seq\":\(next)}"
            }
            req.close()
        }

        try sub.setReceiveTimeout(idleTimeout.map { Int32($0 * 1000) } ?? -1)
        while true {
            guard let frames = try sub.receiveMultipart() else { return }  // idle timeout
            guard frames.count == 2,
                  let record = try? JSONDecoder().decode(AlertRecord.self, from: Data(frames[1])) else {
                FileHandle.standardError.write(Data("vigil tail: skipped a message that is not an alert\n".utf8))
                continue
            }
            if record.seq <= lastSeq { continue }  // already shown from history
            lastSeq = record.seq
            if !show(record) { return }
        }
    }
}

extension Severity: ExpressibleByArgument {}

/// `--since`: a duration back from now or a seq number.
enum SinceSpec {
    case duration(Double)
    case seq(UInt64)

    init?(_ text: String) {
        if let n = UInt64(text) { self = .seq(n); return }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value >= 0 else { return nil }
        self = .duration(value * factor)
    }
}

/// One page of the history endpoint's reply.
struct HistoryPage: Decodable {
    var alerts: [AlertRecord]?
    var last_seq: UInt64?
    var more: Bool?
    var error: String?
}

/// Renders alerts for people (one aligned, optionally coloured line) or machines (NDJSON).
struct AlertPrinter {
    var json: Bool
    var color: Bool

    func print(_ r: AlertRecord) {
        Swift.print(line(r))
        fflush(nil)
    }

    func line(_ r: AlertRecord) -> String {
        if json { return r.json }
        let (on, off): (String, String)
        switch (r.event, r.severity) {
        case (.cleared, _): (on, off) = ("\u{1B}[32m", "\u{1B}[0m")
        case (.raised, .critical): (on, off) = ("\u{1B}[1;31m", "\u{1B}[0m")
        case (.raised, .warning): (on, off) = ("\u{1B}[33m", "\u{1B}[0m")
        }
        let label = r.event == .cleared ? "CLEARED " : (r.severity == .critical ? "CRITICAL" : "WARNING ")
        let evidence = r.context.keys.sorted().map { key -> String in
            "\(key)=" + text(r.context[key]!)
        }.joined(separator: " ")
        let head = color ? on + label + off : label
        return "\(r.time)  \(head)  \(r.sensor)  \(r.detector.rawValue)  score=\(format(r.score)) threshold=\(format(r.threshold)) value=\(format(r.value))  \(evidence)  #\(r.seq)"
    }

    /// A context value for people: numbers formatted, a list as `[a, b]`, an object as `sensor(k=v …)`
    /// when it names a sensor (a PCA contribution), else `(k=v …)`.
    private func text(_ v: AlertRecord.ContextValue) -> String {
        switch v {
        case .number(let d): return format(d)
        case .string(let s): return s
        case .list(let l): return "[" + l.map(text).joined(separator: ", ") + "]"
        case .object(let o):
            let head = o["sensor"]?.string ?? ""
            let rest = o.keys.sorted().filter { $0 != "sensor" }.map { "\($0)=" + text(o[$0]!) }.joined(separator: " ")
            return head + "(" + rest + ")"
        }
    }

    private func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e9 { return String(Int64(d)) }
        // Probabilities near 1 (calibrated scores and their thresholds) keep their nines.
        if d > 0.999, d < 1 { return String(format: "%.10g", d) }
        return String(format: "%.4g", d)
    }
}
