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
            feed goes live with no gap and no duplicate (alerts carry a daemon-wide seq). Alerts the \
            live feed misses (the publisher drops them when a subscriber falls behind) are fetched \
            from history and printed in order before anything after them.
            Examples:
              vigil tail
              vigil tail --sensor plant1/ --severity critical
              vigil tail --since 1h --json
              vigil tail --since 1042        # everything after seq 1042
              vigil tail --server-key @/etc/vigil/vigild.pub --key-file ~/.config/vigil/operator.key
              vigil tail --nats nats://127.0.0.1:4222 --since 1h
            With --nats, alerts come from the JetStream alert stream (--alert-stream), which holds \
            every daemon's alerts, each event once: live from now, or with --since from a time back \
            (a duration) or after an alert stream sequence (a number), in stream order.
            With --server-key and --key-file, both the alert feed and the history requests use \
            CURVE; the tail gives up with a clear message when the daemon refuses the key (or no \
            handshake completes within --handshake-timeout).
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

    @OptionGroup(title: "CURVE authentication")
    var curve: CurveClientOptions

    @Option(help: ArgumentHelp("Read the JetStream alert stream instead: the NATS servers, comma-separated.", valueName: "url"))
    var nats: String?

    @Option(help: "With --nats: the alert stream (nats.alert_stream).")
    var alertStream = "VIGIL_ALERTS"

    func validate() throws {
        if let since, SinceSpec(since) == nil {
            throw ValidationError("--since takes a duration such as 30s, 15m, 2h, 7d, or a seq number; got '\(since)'")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        if nats != nil { return try runNATS() }
        let credentials = try curve.credentials()
        let context = try ZMQContext()
        // Subscribe first: from here on the SUB socket queues live alerts while history is read.
        let sub = try ZMQSocket(context: context, type: .sub)
        if sensor.isEmpty {
            try sub.subscribe("alert/")
        } else {
            for prefix in sensor { try sub.subscribe("alert/" + prefix) }
        }
        try credentials?.apply(to: sub)
        let watch = try HandshakeWatch(sub, context: context, endpoint: endpoint, role: "alert feed", credentials: credentials)
        defer { watch.close() }
        try sub.connect(endpoint)
        // With CURVE, a refused or mismatched key is said at once rather than waited out.
        if credentials != nil { try watch.await(milliseconds: curve.handshakeMilliseconds) }
        var feed = TailFeed(command: self, sub: sub, watch: watch,
                            history: HistoryClient(context: context, endpoint: history, credentials: credentials,
                                                   handshakeMilliseconds: curve.handshakeMilliseconds))
        defer { feed.history.close() }

        if let since, let spec = SinceSpec(since) {
            guard try feed.replay(from: spec.request) else { return }
        } else {
            // Live from now: start at the journal's head, so that alerts published before the
            // subscription took effect still come (from history) and none after it is skipped.
            let probe = HistoryClient(context: context, endpoint: history, timeoutMilliseconds: 2000, credentials: credentials,
                                      handshakeMilliseconds: curve.handshakeMilliseconds)
            defer { probe.close() }
            do {
                feed.sequencer.start(after: try probe.page(HistoryRequest(.afterSeq(UInt64(Int64.max)), limit: 1)).headSeq)
            } catch let failure as HistoryClient.Failure where failure.code == .unauthenticated {
                throw CLIError(failure.message, code: .authentication)
            } catch {
                try watch.check()
                feed.warn("the history endpoint \(history) does not answer; live alerts only until it does")
            }
        }
        try feed.runLive()
    }
}

/// The tail loop: history first, then live alerts in `seq` order, every gap in the live feed
/// filled from history before anything after it is printed.
///
/// Threading: the command's thread (it owns the sockets).
struct TailFeed {
    let command: Tail
    let sub: ZMQSocket
    /// The SUB socket's handshakes: a refusal ends the tail with a message, not silence.
    let watch: HandshakeWatch
    let history: HistoryClient
    let printer: AlertPrinter
    var sequencer = AlertSequencer()
    /// Live alerts received while history was being read, in arrival order.
    var buffered: [AlertRecord] = []
    var printed = 0
    private var warned: Set<String> = []

    init(command: Tail, sub: ZMQSocket, watch: HandshakeWatch, history: HistoryClient) {
        self.command = command
        self.sub = sub
        self.watch = watch
        self.history = history
        printer = AlertPrinter(json: command.json, color: command.color && isatty(STDOUT_FILENO) != 0)
    }

    /// Prints `record` if it passes the filters; false once `--count` alerts were printed.
    mutating func show(_ record: AlertRecord) -> Bool {
        if let severity = command.severity, record.severity < severity { return true }
        if !command.sensor.isEmpty, !command.sensor.contains(where: { record.sensor.hasPrefix($0) }) { return true }
        printer.print(record)
        printed += 1
        if let count = command.count, printed >= count { return false }
        return true
    }

    /// One line on standard error, once per distinct text.
    mutating func warn(_ text: String, once: Bool = false) {
        if once {
            guard !warned.contains(text) else { return }
            warned.insert(text)
        }
        FileHandle.standardError.write(Data("vigil tail: \(text)\n".utf8))
    }

    /// The next live alert; nil on the receive timeout.
    mutating func receiveLive(dontWait: Bool) throws -> AlertRecord? {
        while true {
            guard let frames = try sub.receiveMultipart(dontWait: dontWait) else { return nil }
            if frames.count == 2, let record = try? JSONDecoder().decode(AlertRecord.self, from: Data(frames[1])) {
                return record
            }
            warn("skipped a message that is not an alert")
        }
    }

    /// Moves what the SUB socket queued into `buffered` (bounded: past it, the gap is filled
    /// from history later).
    mutating func drainLive() throws {
        while buffered.count < 1_000_000, let r = try receiveLive(dontWait: true) { buffered.append(r) }
    }

    /// `--since`: prints history from `request` up to the journal's head, keeping live alerts
    /// that arrive meanwhile. False once `--count` was reached.
    mutating func replay(from request: HistoryRequest) throws -> Bool {
        var request = request
        while true {
            let page: HistoryReply
            do {
                page = try history.page(request)
            } catch let failure as HistoryClient.Failure where failure.code == .unauthenticated {
                throw CLIError(failure.message, code: .authentication)
            } catch {
                try watch.check()
                throw CLIError("\(error)")
            }
            for r in sequencer.history(page.alerts) where !show(r) { return false }
            sequencer.start(after: page.lastSeq)
            try drainLive()
            guard page.more else { return true }
            request = HistoryRequest(.afterSeq(page.lastSeq))
        }
    }

    /// Fetches `from…through` (and whatever follows, up to one page) from history and prints it;
    /// what history no longer has is reported and skipped. False once `--count` was reached.
    mutating func fill(from: UInt64, through: UInt64) -> Bool {
        var after = from - 1
        var fetched = 0
        do {
            while true {
                let page = try history.page(HistoryRequest(.afterSeq(after)))
                for r in sequencer.history(page.alerts) {
                    fetched += 1
                    if !show(r) { return false }
                }
                after = page.lastSeq
                if !page.more || page.lastSeq >= through { break }
            }
        } catch {
            warn("cannot fill a gap from history: \(error)")
        }
        if let next = sequencer.next, next <= through {
            warn("alerts #\(next)…#\(through) are neither live nor in the journal (deleted by retention?); skipping them")
            sequencer.skip(through: through)
        } else if fetched > 0 {
            warn("alerts #\(from)…#\(through) were missed live (publisher high-water mark); printed them from history")
        }
        return true
    }

    /// Offers one live alert; false once `--count` was reached.
    mutating func handle(_ r: AlertRecord) -> Bool {
        switch sequencer.live(r) {
        case .show: return show(r)
        case .duplicate: return true
        case .gap(let from, let through):
            guard fill(from: from, through: through) else { return false }
            switch sequencer.live(r) {
            case .show: return show(r)
            case .duplicate: return true
            case .gap(_, let through):
                sequencer.skip(through: through)
                return sequencer.live(r) == .show ? show(r) : true
            }
        }
    }

    /// The live loop: buffered alerts first, then the SUB socket. After each second without a
    /// live alert, history is asked for anything past the last printed seq (alerts dropped at
    /// the high-water mark with nothing after them to reveal the gap).
    mutating func runLive() throws {
        for r in buffered where !handle(r) { return }
        buffered.removeAll()
        let slice = min(1000, command.idleTimeout.map { max(1, Int32($0 * 1000)) } ?? 1000)
        try sub.setReceiveTimeout(slice)
        var lastAlert = Date()
        while true {
            if let r = try receiveLive(dontWait: false) {
                guard handle(r) else { return }
                lastAlert = Date()
                continue
            }
            // A quiet second: a refused or mismatched connection shows up here, not as an error.
            try watch.check()
            if let next = sequencer.next {
                do {
                    var after = next - 1
                    while true {
                        let page = try history.page(HistoryRequest(.afterSeq(after)))
                        for r in sequencer.history(page.alerts) {
                            lastAlert = Date()
                            if !show(r) { return }
                        }
                        after = page.lastSeq
                        if !page.more { break }
                    }
                } catch {
                    warn("history: \(error)", once: true)
                }
            }
            if let idle = command.idleTimeout, Date().timeIntervalSince(lastAlert) >= idle { return }
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

    /// The history request that starts the replay.
    var request: HistoryRequest {
        switch self {
        case .seq(let n): HistoryRequest(.afterSeq(n))
        case .duration(let seconds): HistoryRequest(.sinceTimestamp(Int64((Date().timeIntervalSince1970 - seconds) * 1e9)))
        }
    }
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
        // What fired and why first (a surprise alert's channel, its surprise and p; the reason of
        // a clear), then the rest of the evidence by key.
        let lead = ["reason", "channel", "surprise", "p"].filter { r.context[$0] != nil }
        let evidence = (lead + r.context.keys.sorted().filter { !lead.contains($0) }).map { key -> String in
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
