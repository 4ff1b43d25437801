// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
import ZeroMQ

/// Issue 8's findings re-run against real `vigild` processes, with pyzmq and Python's own
/// resource module as independent peers.
@Suite("vigild holds against hostile clients and a failing journal", .serialized)
struct HardeningProcessTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path
    let peer = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_peer.py").path

    /// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`: the peak RSS).
    static func status(_ pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Sets the soft `RLIMIT_FSIZE` of process `pid` (bytes; nil: back to the hard limit).
    static func setFileSizeLimit(_ pid: Int32, _ bytes: Int?) throws {
        let soft = bytes.map(String.init) ?? "hard"
        let r = try runProgram("/usr/bin/env", ["python3", "-c", """
            import resource, sys
            pid = int(sys.argv[1]); _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard if sys.argv[2] == 'hard' else int(sys.argv[2]), hard))
            """, "\(pid)", soft])
        try #require(r.status == 0, "prlimit: \(r.err)")
    }

    func ask(_ daemon: VigildProcess, _ request: String) throws -> String {
        let r = try runProgram("/usr/bin/env", ["python3", peer, "ask", daemon.history, request, "5"])
        try #require(r.status == 0, "\(r.err)")
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("/healthz answers within 1 s beside a slow client and 50 idle ones; SIGTERM with a slow client connected exits 0 within 5 s, snapshot saved")
    func metricsUnderSlowClients() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let slow = try #require(SlowHTTPClient(port: daemon.metricsPort))
        let idle = (0..<50).compactMap { _ in TestTCPClient(port: daemon.metricsPort) }
        #expect(idle.count == 50)
        usleep(500_000)
        var slowest = 0.0
        for path in ["/healthz", "/readyz", "/metrics"] {
            let answer = TestNetwork.timedGet(port: daemon.metricsPort, path: path, timeout: 5)
            #expect(answer?.status == 200, "\(path)")
            slowest = max(slowest, answer?.seconds ?? 99)
        }
        #expect(slowest < 1, "slowest answer \(slowest) s")
        print("metrics beside a slow client and 50 idle connections: slowest of /healthz, /readyz, /metrics \(Int(slowest * 1e6)) µs")
        slow.stop()
        // A new slow client, mid-request when SIGTERM arrives.
        let second = try #require(SlowHTTPClient(port: daemon.metricsPort))
        defer { second.stop() }
        usleep(1_500_000)
        let started = Date()
        let status = daemon.stop()
        let took = Date().timeIntervalSince(started)
        #expect(status == 0)
        #expect(took < 5, "SIGTERM took \(took) s")
        #expect(daemon.logText.contains("saved detector state"), "\(daemon.logText)")
        print("SIGTERM with a slow client mid-request: exited in \(Int(took * 1000)) ms")
    }

    @Test("a 100 MB history request, in one frame or in 51,200, leaves vigild under 400 MB and answering")
    func hugeHistoryRequests() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        defer { daemon.stop() }
        try sendSpike(to: daemon.ingest, sensor: "big/a", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_alert_seq") == 2 })
        let pid = daemon.process.processIdentifier
        let before = try #require(Self.status(pid, "VmHWM"))
        let size = 100 << 20
        // One frame larger than history.max_request_bytes: libzmq drops the peer before reading it.
        let single = try runProgram("/usr/bin/env", ["python3", peer, "flood", daemon.history, "\(size)", "1", "5"])
        #expect(single.status == 0, "\(single.err)")
        #expect(single.out.hasPrefix("no reply"), "\(single.out.prefix(200))")
        // 51,200 frames of 2 KiB, each under the limit: read and dropped frame by frame, then
        // refused with an error.
        let many = try runProgram("/usr/bin/env", ["python3", peer, "flood", daemon.history, "\(size)", "51200", "30"])
        #expect(many.status == 0, "\(many.err)")
        #expect(many.out.contains("\"code\":\"request_too_large\""), "\(many.out.prefix(200))")
        let peak = try #require(Self.status(pid, "VmHWM"))
        #expect(peak < 400 * 1024, "peak RSS \(peak) kB")
        print("vigild peak RSS before the 100 MB requests \(before / 1024) MB, after \(peak / 1024) MB (now \((Self.status(pid, "VmRSS") ?? 0) / 1024) MB)")
        // Still answering.
        let reply = try ask(daemon, #"{"since_seq": 0}"#)
        #expect(reply.contains("\"head_seq\":2"), "\(reply)")
    }

    @Test("history refuses each badly typed request with a clear error and answers good ones")
    func strictHistoryRequests() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        defer { daemon.stop() }
        try sendSpike(to: daemon.ingest, sensor: "strict/a", start: 1_700_000_000_000_000_000)
        try sendSpike(to: daemon.ingest, sensor: "strict/b", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_alert_seq") == 4 })
        let refused: [(String, String)] = [
            (#"{"since_seq": true}"#, "wrong_type"),
            (#"{"since_seq": 0, "limit": 0}"#, "out_of_range"),
            (#"{"since_seq": 0, "limit": -1}"#, "out_of_range"),
            (#"{"since_seq": 0, "limit": 10001}"#, "out_of_range"),
            (#"{"since_seq": 1.5}"#, "wrong_type"),
            (#"{"since_seq": "1"}"#, "wrong_type"),
            (#"{"since": "soon"}"#, "invalid_value"),
            (#"{"since_seq": 0, "follow": true}"#, "unknown_key"),
            (#"{"since_seq": 0, "since": 0}"#, "conflicting_keys"),
            ("{}", "missing_key"),
            ("not json", "malformed_request"),
        ]
        for (request, code) in refused {
            let reply = try ask(daemon, request)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any], "\(reply)")
            #expect(object["code"] as? String == code, "\(request) → \(reply)")
            #expect((object["error"] as? String)?.isEmpty == false)
            #expect(object["alerts"] == nil)
        }
        let page = try JSONDecoder().decode(HistoryResponse.self, from: Data(try ask(daemon, #"{"since_seq": 0, "limit": 2}"#).utf8))
        guard case .page(let reply) = page else { Issue.record("\(page)"); return }
        #expect(reply.alerts.map(\.seq) == [1, 2])
        #expect(reply.more && reply.lastSeq == 2 && reply.headSeq == 4)
        let rest = try JSONDecoder().decode(HistoryResponse.self, from: Data(try ask(daemon, #"{"since_seq": 2}"#).utf8))
        if case .page(let p) = rest {
            #expect(p.alerts.map(\.seq) == [3, 4] && !p.more && p.lastSeq == 4 && p.headSeq == 4)
        } else {
            Issue.record("\(rest)")
        }
    }

    @Test("a failing journal COMMIT holds the alerts: none published, /readyz 503, errors counted; once writable all are published in order")
    func journalCommitFailure() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        defer { daemon.stop() }
        let collector = try AlertCollector(endpoint: daemon.publish)
        try sendSpike(to: daemon.ingest, sensor: "disk/a", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.count == 2 })
        let pid = daemon.process.processIdentifier
        // A file-size limit of one byte: SQLite's write of the WAL frames at COMMIT fails (EFBIG).
        try Self.setFileSizeLimit(pid, 1)
        try sendSpike(to: daemon.ingest, sensor: "disk/b", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 15) { (daemon.metric("vigil_journal_errors_total") ?? 0) >= 3 }, "\(daemon.logText)")
        #expect(TestNetwork.httpGet(port: daemon.metricsPort, path: "/readyz")?.status == 503)
        #expect(daemon.metric("vigil_journal_writable") == 0)
        #expect(TestNetwork.httpGet(port: daemon.metricsPort, path: "/healthz")?.status == 200, "alive, just not ready")
        usleep(300_000)
        #expect(collector.alerts.count == 2, "nothing is published while the journal fails")
        #expect(daemon.metric("vigil_alert_seq") == 2)
        #expect(try ask(daemon, #"{"since_seq": 0}"#).contains("\"head_seq\":2"))
        let log = daemon.logText
        #expect(log.contains("COMMIT") && log.contains("holding"), "\(log)")
        // The limit lifted: the held batch (same seq numbers) is journaled, then published.
        try Self.setFileSizeLimit(pid, nil)
        #expect(TestNetwork.waitUntil(seconds: 15) { collector.alerts.count == 4 }, "\(daemon.logText)")
        collector.stop()
        #expect(collector.alerts.map(\.seq) == [1, 2, 3, 4])
        #expect(collector.alerts.suffix(2).allSatisfy { $0.sensor == "disk/b" })
        #expect(TestNetwork.httpGet(port: daemon.metricsPort, path: "/readyz")?.status == 200)
        #expect(daemon.metric("vigil_journal_writable") == 1)
        let history = try JSONDecoder().decode(HistoryResponse.self, from: Data(try ask(daemon, #"{"since_seq": 0}"#).utf8))
        if case .page(let p) = history {
            #expect(p.alerts.map(\.seq) == [1, 2, 3, 4])
        } else {
            Issue.record("\(history)")
        }
        #expect(daemon.stop() == 0)
    }

    @Test("SIGTERM while the journal cannot be written gives up on the held alerts after 5 s, says so, and exits")
    func stopWithUnwritableJournal() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        try Self.setFileSizeLimit(daemon.process.processIdentifier, 1)
        try sendSpike(to: daemon.ingest, sensor: "stuck/a", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 15) { (daemon.metric("vigil_journal_errors_total") ?? 0) >= 1 })
        let started = Date()
        daemon.stop()
        let took = Date().timeIntervalSince(started)
        #expect(took < 10, "SIGTERM took \(took) s")
        let log = daemon.logText
        // The raise and the clear are held together, or the raise alone when the publisher drained
        // it before the worker emitted the clear (then the clear is given up on with it).
        #expect(log.contains("giving up on 2 held alerts (seq 1…2)") || log.contains("giving up on 1 held alerts (seq 1…1)"), "\(log)")
        #expect(log.contains("2 alerts were lost to the unwritable journal"), "\(log)")
    }

    @Test("vigil tail --since 0 at send_hwm 10 prints every seq of a 20,000-alert burst exactly once, in order")
    func tailWithoutGaps() throws {
        let daemon = try VigildProcess(sendHighWaterMark: 10)
        try daemon.start()
        defer { daemon.stop() }
        // Some history before the tail starts.
        try sendSpike(to: daemon.ingest, sensor: "burst/first", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_alert_seq") == 2 })
        let sensors = 10_000
        let total = 2 + 2 * sensors
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: vigil)
        tail.arguments = ["tail", "--endpoint", daemon.publish, "--history", daemon.history, "--since", "0", "--json",
                          "--count", "\(total)"]
        let out = Pipe(), err = Pipe()
        tail.standardOutput = out
        tail.standardError = err
        try tail.run()
        defer { if tail.isRunning { tail.terminate() } }
        // The burst: one raise and one clear per sensor, as fast as the daemon makes them. The
        // test does not read the tail's output yet, so the tail falls behind and the PUB socket
        // drops most of the burst at its high-water mark.
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 10_000)
        try push.connect(daemon.ingest)
        var series: [(ts: Int64, value: Double)] = []
        for i in 0..<48 {
            let value: Double = (40..<43).contains(i) ? 100 : 10 + Double(i % 5) * 0.1
            series.append((1_700_000_000_000_000_000 + Int64(i) * 1_000_000_000, value))
        }
        for s in 0..<sensors { try push.send(IngestEncoder.binary(sensor: "burst/s\(s)", samples: series)) }
        push.close()
        #expect(TestNetwork.waitUntil(seconds: 120) { daemon.metric("vigil_alert_seq") == Double(total) },
                "alert_seq \(daemon.metric("vigil_alert_seq") ?? -1)")
        let data = out.fileHandleForReading.readDataToEndOfFile()
        tail.waitUntilExit()
        let notes = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let seqs = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(AlertRecord.self, from: Data($0.utf8)).seq
        }
        #expect(tail.terminationStatus == 0, "\(notes)")
        #expect(seqs.count == total)
        #expect(seqs == Array(1...UInt64(total)), "first difference at \(zip(seqs, 1...).first { $0.0 != $0.1 }.map { "\($0.1)" } ?? "end")")
        // The live feed did lose alerts, and the tail filled them from history.
        let filled = notes.split(separator: "\n").filter { $0.contains("printed them from history") }
        #expect(!filled.isEmpty, "no gap was filled: \(notes)")
        print("vigil tail at send_hwm 10: \(seqs.count) of \(total) alerts printed in order; \(filled.count) live gaps filled from history")
    }
}
