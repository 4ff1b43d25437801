// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilJournal
import VigilTestKit
import ZeroMQ

/// kill -9 cycles under load. `VIGIL_CHAOS_CYCLES` (default 5) sets how many; each takes about
/// three seconds.
@Suite("Chaos: kill -9 under load", .serialized)
struct ChaosTests {
    static let cycles: Int = {
        if let s = ProcessInfo.processInfo.environment["VIGIL_CHAOS_CYCLES"], let n = Int(s), n > 0 { return n }
        return 5
    }()
    static let t0: Int64 = 1_750_000_000_000_000_000
    let peer = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_peer.py").path

    func send(_ endpoint: String, _ sensor: String, from: Int, count: Int, value: Double? = nil, base: Int64 = t0) throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 10_000)
        try push.connect(endpoint)
        var samples: [(ts: Int64, value: Double)] = []
        for i in from..<(from + count) {
            let calm: Double = 10 + sin(Double(i) / 5) * 0.5 + Double(i % 7) * 0.01
            samples.append((base + Int64(i) * 1_000_000_000, value ?? calm))
        }
        try push.send(IngestEncoder.binary(sensor: sensor, samples: samples))
        push.close()
    }

    /// Every journaled alert so far (a read-only connection beside the running daemon).
    static func journaled(_ state: String) throws -> [AlertRecord] {
        let journal = try Journal(path: state + "/journal.sqlite", access: .readOnly)
        return try journal.page(afterSeq: 0, limit: 10_000_000).rows.map {
            try JSONDecoder().decode(AlertRecord.self, from: Data($0.json.utf8))
        }
    }

    @Test("kill -9 vigild repeatedly under load: seq strictly rises, each id is raised once and cleared at most once (and at the end, cleared), nothing a subscriber saw is missing, and the state is at most one checkpoint old")
    func killNineRepeatedly() throws {
        let state = TestNetwork.temporaryDirectory("vigild-chaos")
        let options = "checkpoint_interval: 1s"
        var daemon = try VigildProcess(state: state, stateYAML: options)
        try daemon.start()
        let collector = try AlertCollector(endpoint: daemon.publish)  // reconnects to each new process
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        load.arguments = ["python3", peer, "load", daemon.ingest, "20", "4000"]
        load.standardOutput = FileHandle.nullDevice
        try load.run()
        defer { if load.isRunning { kill(load.processIdentifier, SIGKILL) } }
        var rng = SystemRandomNumberGenerator()
        var notes: [String] = []
        for cycle in 0..<Self.cycles {
            // A probe warmed now, then held by at least one checkpoint, must be warm after the crash.
            let probe = "chaos/probe\(cycle)"
            try send(daemon.ingest, probe, from: 0, count: 100)
            let seen = daemon.logLines(containing: "checkpoint written").count
            #expect(TestNetwork.waitUntil(seconds: 20) { daemon.logLines(containing: "checkpoint written").count >= seen + 2 },
                    "cycle \(cycle): no checkpoints: \(daemon.logText.suffix(3000))")
            let delay = UInt32.random(in: 0...800_000, using: &rng)
            usleep(delay)
            #expect(daemon.stop(signal: SIGKILL) == SIGKILL)
            let next = try VigildProcess(state: state, endpointsOf: daemon, stateYAML: options)
            try next.start()
            daemon = next
            let restored = daemon.logLines(containing: "restored detector state").last
            #expect(restored != nil, "cycle \(cycle): \(daemon.logText)")
            let age = Int(daemon.logField("age_s", inLastLineContaining: "restored detector state") ?? "") ?? 99
            #expect(age <= 5, "cycle \(cycle): the checkpoint restored is \(age) s old")
            let reconciled = daemon.logLines(containing: "reconciled detector state").last.map(String.init) ?? "nothing to reconcile"
            notes.append("cycle \(cycle): killed \(delay / 1000) ms after a checkpoint; restored \(daemon.logField("sensors", inLastLineContaining: "restored detector state") ?? "?") sensors, \(age) s old; \(reconciled.split(separator: "vigild: ").last ?? "")")
            // The probe's spike raises on its second sample: its window survived the crash. (Read
            // from the journal: the live subscriber may not have reconnected yet.)
            try send(daemon.ingest, probe, from: 100, count: 3, value: 100)
            var raised: AlertRecord?
            #expect(TestNetwork.waitUntil(seconds: 10) {
                raised = try? Self.journaled(state).last { $0.sensor == probe }
                return raised != nil
            }, "cycle \(cycle): the warm probe did not alert after the restart")
            #expect(raised.map { $0.event == .raised && $0.ts == Self.t0 + 101 * 1_000_000_000 } == true, "cycle \(cycle): \(String(describing: raised))")
        }
        kill(load.processIdentifier, SIGKILL)  // a blocked send would not see SIGTERM at once
        load.waitUntilExit()
        // Calm for everyone: every alert still raised clears.
        let calmBase = Self.t0 + 10_000_000 * 1_000_000_000
        for k in 0..<20 { try send(daemon.ingest, "chaos/s\(k)", from: 0, count: 80, base: calmBase) }
        for cycle in 0..<Self.cycles { try send(daemon.ingest, "chaos/probe\(cycle)", from: 103, count: 80) }
        var last = -1.0
        #expect(TestNetwork.waitUntil(seconds: 20) {
            usleep(500_000)
            let now = daemon.metric("vigil_alert_seq") ?? -1
            defer { last = now }
            return now == last
        })
        collector.stop()
        #expect(daemon.stop() == 0)

        // The journal's invariants.
        let alerts = try Self.journaled(state)
        #expect(!alerts.isEmpty)
        #expect(alerts.map(\.seq) == Array(1...UInt64(alerts.count)), "seq rises by one, no gap, no repeat")
        var byID: [String: [AlertRecord]] = [:]
        for a in alerts { byID[a.id, default: []].append(a) }
        var problems: [String] = []
        var closed = 0
        for (id, events) in byID {
            let kinds = events.map { "\($0.event.rawValue)/\($0.severity.rawValue)" }
            let raises = events.filter { $0.event == .raised }
            let clears = events.filter { $0.event == .cleared }
            let okShape = events.first?.event == .raised
                && raises.filter { $0.severity == .warning }.count <= 1
                && raises.filter { $0.severity == .critical }.count <= 1
                && clears.count == 1 && events.last?.event == .cleared
                && (raises.count < 2 || raises[0].severity == .warning)
            if !okShape { problems.append("\(id): \(kinds)") }
            if clears.first?.context["reason"] != nil { closed += 1 }
        }
        #expect(problems.isEmpty, "\(problems.count) ids break the rules: \(problems.prefix(10))")
        // Nothing a subscriber saw is missing from the journal.
        let journaled = Dictionary(uniqueKeysWithValues: alerts.map { ($0.seq, $0) })
        let missing = collector.alerts.filter { live in
            guard let j = journaled[live.seq] else { return true }
            return j.id != live.id || j.event != live.event
        }
        #expect(missing.isEmpty, "\(missing.count) alerts seen live are not in the journal: \(missing.prefix(5).map { "\($0.seq) \($0.id)" })")
        for n in notes { print(n) }
        print("chaos: \(Self.cycles) kill -9 cycles; \(alerts.count) alerts journaled for \(byID.count) ids (\(closed) closed by the daemon), \(collector.alerts.count) seen live; every id raised once, cleared once")
    }
}
