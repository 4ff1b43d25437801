// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import Testing
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Raise on the first sample far from a flat baseline; clear after five calm samples.
private let settings: SettingsResolver = { _ in
    DetectorSettings(zscore: .init(ZScoreSettings(window: 16, warmup: 8, minDeviation: 1),
                                   alerts: AlertPolicy(threshold: 50, criticalThreshold: 80, raiseAfter: 1, clearAfter: 5)),
                     combine: nil)
}

private func makePipeline(workers: Int, ring: Int = 4096, settings s: @escaping SettingsResolver = settings) -> Pipeline {
    Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: ring, alertRingCapacity: 4096),
             registry: SensorRegistry(limit: 100_000), drops: DropCounters(), settings: s)
}

/// Collects the chunks of `request` from every worker until each has sent its last one, framing
/// them into a snapshot file as the checkpointer does (without its alert wait).
/// `seconds` only guards against a hang: under Thread Sanitizer a worker that is fed without pause
/// takes tens of seconds to capture 2,000 sensors a millisecond slice at a time.
private func collect(_ p: Pipeline, _ request: CheckpointRequest, seconds: Double = 120) -> (bytes: [UInt8], last: [CheckpointChunk])? {
    var assembler = DetectorSnapshotAssembler()
    var bytes = assembler.header()
    var last = [CheckpointChunk?](repeating: nil, count: p.configuration.workers)
    let deadline = SystemTime.monotonicNanoseconds() + UInt64(seconds * 1e9)
    while last.contains(where: { $0 == nil }) {
        guard SystemTime.monotonicNanoseconds() < deadline else { return nil }
        var got = false
        for w in last.indices where last[w] == nil {
            while let c = p.nextCheckpointChunk(worker: w) {
                guard c.generation == request.generation else { continue }
                got = true
                let (prefix, suffix) = assembler.frame(c.kind, c.payload, records: c.records)
                bytes += prefix + c.payload + suffix
                if c.isLast { last[w] = c; break }
            }
        }
        if !got { usleep(200) }
    }
    bytes += assembler.finish(names: p.registry.allNames, coveredSeq: request.coveredSeq, journalSeq: p.journaledSeq, createdAt: 1)
    return (bytes, last.map { $0! })
}

private func drainAll(_ p: Pipeline) -> [AlertEvent] {
    var alerts: [AlertEvent] = []
    p.drainAlerts(maximum: 100_000) { alerts.append($0) }
    return alerts
}

@Suite("Pipeline checkpoints", .serialized)
struct PipelineCheckpointTests {
    @Test("a checkpoint captured while samples flow restores every sensor warm; each worker pauses only for short slices",
          arguments: [1, 2])
    func captureWhileRunning(workers: Int) throws {
        let p = makePipeline(workers: workers)
        p.checkpointChunkBytes = 16 << 10  // many chunks, so the streaming path is exercised
        let sensors = 2000
        let ids = (0..<sensors).map { p.registry.intern("cp/\($0)")! }
        p.start()
        // Warm every sensor, then keep a feeder running while the checkpoint is captured.
        var batch: [Sample] = []
        for i in 0..<20 { for id in ids { batch.append(Sample(sensor: id, timestamp: Int64(i), value: Double(i % 3))) } }
        p.submit(batch)
        while p.samplesProcessed < UInt64(batch.count) { usleep(500) }
        let running = Atomic<Bool>(true)
        let fed = Atomic<Int>(0)
        let feeder = StageThread(name: "test-feeder") {
            var i = 20
            var b: [Sample] = []
            while running.load(ordering: .relaxed) {
                b.removeAll(keepingCapacity: true)
                for id in ids.prefix(200) { b.append(Sample(sensor: id, timestamp: Int64(i), value: Double(i % 3))) }
                p.submit(b)
                fed.wrappingAdd(b.count, ordering: .relaxed)
                i += 1
            }
        }
        let request = p.requestCheckpoint()
        let collected = try #require(collect(p, request))
        running.store(false, ordering: .relaxed)
        feeder.join()
        p.finishIngest()
        p.join()
        #expect(fed.load(ordering: .relaxed) > 0, "samples flowed during the capture")
        let longest = collected.last.max { $0.longestPause < $1.longestPause }!
        let slices = collected.last.map(\.slices).reduce(0, +)
        print("checkpoint of \(sensors) sensors on \(workers) worker(s): \(collected.bytes.count) bytes, \(slices) slices, longest pause \(Double(longest.longestPause) / 1e6) ms (its CPU time \(Double(longest.longestPauseCPU) / 1e6) ms)")
        #expect(slices > workers, "captured in several slices")
        // The slice that paused a worker longest did little work: its thread CPU time, not its
        // wall time, which under Thread Sanitizer on 2 cores with other suites running measures
        // the scheduler (one run: 256 ms of wall clock in a slice that typically takes 6–14 ms).
        // A slice that really ran long would be the longest in wall time too.
        #expect(longest.longestPauseCPU < 200_000_000, "no worker stopped for long (\(longest.longestPauseCPU) ns of CPU in a pause of \(longest.longestPause) ns)")
        // Everything comes back, warm: a spike on any sensor raises at once.
        let second = makePipeline(workers: 3 - workers)
        let summary = try second.restore(collected.bytes)
        #expect(summary.sensorsRestored == sensors)
        second.start()
        second.submit([Sample(sensor: second.registry.index(of: "cp/1234")!, timestamp: 10_000, value: 1_000)])
        second.finishIngest()
        second.join()
        #expect(drainAll(second).map(\.event) == [.raised])
    }

    @Test("a newer request supersedes one in progress, and a cancelled one stops: its chunks stop coming")
    func supersedeAndCancel() throws {
        let p = makePipeline(workers: 1)
        p.checkpointChunkBytes = 512  // one small chunk at a time: the 4-slot chunk ring fills at once
        let ids = (0..<500).map { p.registry.intern("sc/\($0)")! }
        p.start()
        p.submit(ids.map { Sample(sensor: $0, timestamp: 0, value: 1) })
        while p.samplesProcessed < 500 { usleep(500) }
        let first = p.requestCheckpoint()
        usleep(20_000)  // the worker has filled the ring with the first generation's chunks
        let second = p.requestCheckpoint()
        #expect(second.generation == first.generation + 1)
        let got = try #require(collect(p, second))
        #expect(try DetectorSnapshotReader(SnapshotBytes(got.bytes)).sensorRecordCount == 500)
        // Cancel a third one while its chunks wait in the full ring: nothing more of it comes.
        let third = p.requestCheckpoint()
        usleep(20_000)
        p.cancelCheckpoint(third.generation)
        usleep(20_000)
        var stale = 0
        while p.nextCheckpointChunk(worker: 0) != nil { stale += 1 }
        usleep(20_000)
        var after = 0
        while let c = p.nextCheckpointChunk(worker: 0) { if c.generation == third.generation { after += 1 } }
        #expect(stale > 0 && after <= 1, "at most the chunk pending when it was cancelled")
        // And the next one completes.
        #expect(collect(p, p.requestCheckpoint()) != nil)
        p.finishIngest()
        p.join()
    }

    @Test("journaled alert counts follow what the publisher marks journaled, per worker")
    func journaledCounts() {
        let p = makePipeline(workers: 2)
        let ids = (0..<4).map { p.registry.intern("jc/\($0)")! }
        p.setJournaledSeq(10)
        #expect(p.journaledSeq == 10)
        p.start()
        var samples: [Sample] = []
        for i in 0..<20 { for id in ids { samples.append(Sample(sensor: id, timestamp: Int64(i), value: 0)) } }
        for id in ids { samples.append(Sample(sensor: id, timestamp: 20, value: 1_000)) }
        p.submit(samples)
        p.finishIngest()
        p.join()
        #expect(p.alertsJournaled(worker: 0) == 0 && p.alertsJournaled(worker: 1) == 0)
        let drained = drainAll(p)
        #expect(drained.count == 4)
        p.alertsJournaled(throughSeq: 14)
        #expect(p.journaledSeq == 14)
        #expect(p.alertsJournaled(worker: 0) + p.alertsJournaled(worker: 1) == 4)
        #expect(p.alertsJournaled(worker: 0) == 2, "sensors 0 and 2 shard to worker 0")
    }
}

/// The reconcile rule, case by case, on real chains: what the checkpoint held, what the journal
/// says happened after it, and what the chain does next.
@Suite("Reconcile with the journal", .serialized)
struct ReconcileTests {
    /// A pipeline whose sensor "r" is warm (and raised at ts 100 when `raised`), stopped, and its
    /// snapshot.
    func checkpoint(raised: Bool) -> [UInt8] {
        let p = makePipeline(workers: 1)
        let id = p.registry.intern("r")!
        p.start()
        var samples = (0..<30).map { Sample(sensor: id, timestamp: Int64($0), value: Double($0 % 3)) }
        if raised { samples.append(Sample(sensor: id, timestamp: 100, value: 1_000)) }
        p.submit(samples)
        p.finishIngest()
        p.join()
        #expect(drainAll(p).map(\.event) == (raised ? [.raised] : []))
        return p.snapshot()
    }

    func journaled(_ event: AlertEventKind, raisedAt: Int64, ts: Int64? = nil, severity: Severity = .critical,
                   sensor: String = "r", detector: DetectorKind = .zscore) -> JournaledAlert {
        JournaledAlert(seq: 1, id: "\(sensor):\(detector.rawValue):\(raisedAt)", event: event, severity: severity,
                       sensor: sensor, detector: detector, ts: ts ?? raisedAt, raisedAt: raisedAt)
    }

    /// Restores `bytes`, reconciles with `latest`, then feeds `after` calm samples (and a spike at
    /// ts 500 when `spike`); returns the summary and the alerts that follow.
    func afterRestart(_ bytes: [UInt8]?, _ latest: [JournaledAlert], calm after: Int = 30, spike: Bool = false,
                      settings s: @escaping SettingsResolver = settings) throws -> (ReconcileSummary, [AlertEvent]) {
        let p = makePipeline(workers: 2, settings: s)
        if let bytes { try p.restore(bytes) }
        let summary = p.reconcile(with: latest)
        let id = p.registry.intern("r")!
        p.start()
        var samples = (0..<after).map { Sample(sensor: id, timestamp: Int64(200 + $0), value: Double($0 % 3)) }
        if spike { samples.append(Sample(sensor: id, timestamp: 500, value: 1_000)) }
        p.submit(samples)
        p.finishIngest()
        p.join()
        return (summary, drainAll(p))
    }

    @Test("raised at the checkpoint, cleared in the journal after it: stays cleared, never cleared twice")
    func clearedAfterCheckpoint() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: true), [journaled(.cleared, raisedAt: 100, ts: 120)], spike: true)
        #expect(summary.cleared == 1)
        #expect(alerts.map(\.event) == [.raised], "no second clear of 100; a new spike raises a new alert")
        #expect(alerts.first?.raisedAt == 500)
    }

    @Test("not raised at the checkpoint, raised in the journal after it: the chain holds it and clears it with its id")
    func raisedAfterCheckpoint() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: false), [journaled(.raised, raisedAt: 150)])
        #expect(summary.adopted == 1)
        #expect(alerts.map(\.event) == [.cleared])
        #expect(alerts.first?.raisedAt == 150 && alerts.first?.severity == .critical)
    }

    @Test("raised at the checkpoint and still raised in the journal: one clear, as without a restart")
    func raisedThroughout() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: true), [journaled(.raised, raisedAt: 100)])
        #expect(summary.unchanged == 1)
        #expect(alerts.map(\.event) == [.cleared] && alerts.first?.raisedAt == 100)
    }

    @Test("raised at the checkpoint, then cleared and raised again in the journal: the newer alert is held and cleared")
    func clearedThenRaisedAgain() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: true), [journaled(.raised, raisedAt: 180)])
        #expect(summary.adopted == 1)
        #expect(alerts.map { "\($0.event) \($0.raisedAt)" } == ["cleared 180"])
    }

    @Test("a sensor the checkpoint does not hold, raised in the journal: a fresh chain warms up and clears it")
    func freshChainTakesOver() throws {
        let (summary, alerts) = try afterRestart(nil, [journaled(.raised, raisedAt: 150)])
        #expect(summary.freshChains == 1 && summary.adopted == 1)
        #expect(alerts.map { "\($0.event) \($0.raisedAt)" } == ["cleared 150"], "learned its baseline while warming, then cleared")
    }

    @Test("a cleared alert of a sensor the checkpoint does not hold changes nothing")
    func clearedWithoutState() throws {
        let (summary, alerts) = try afterRestart(nil, [journaled(.cleared, raisedAt: 150)])
        #expect(summary.unchanged == 1 && summary.freshChains == 0 && summary.closed.isEmpty)
        #expect(alerts.isEmpty)
    }

    @Test("an alert of a detector the sensor no longer runs is closed by the daemon, with reason restart")
    func closedWhenNoDetector() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: false), [journaled(.raised, raisedAt: 150, detector: .spectralResidual)])
        let closed = try #require(summary.closed.first)
        #expect(summary.closed.count == 1)
        #expect(closed.sensorName == "r" && closed.event.event == .cleared && closed.event.raisedAt == 150)
        #expect(closed.event.evidence == .closed(reason: .restart))
        #expect(AlertRecord(seq: 9, event: closed.event, sensorName: "r").context["reason"] == .string("restart"))
        #expect(alerts.isEmpty)
    }

    @Test("the checkpoint holds a newer raise than the journal's last clear (journal behind): kept, cleared normally")
    func journalBehind() throws {
        let (summary, alerts) = try afterRestart(checkpoint(raised: true), [journaled(.cleared, raisedAt: 50, ts: 60)])
        #expect(summary.keptNewer == 1)
        #expect(alerts.map { "\($0.event) \($0.raisedAt)" } == ["cleared 100"])
    }

    @Test("an escalation journaled after the checkpoint is not escalated again")
    func escalationJournaled() throws {
        // A warning alert at the checkpoint (score between the warning and critical thresholds).
        let p = makePipeline(workers: 1)
        let id = p.registry.intern("r")!
        p.start()
        var samples = (0..<30).map { Sample(sensor: id, timestamp: Int64($0), value: Double($0 % 3)) }
        samples.append(Sample(sensor: id, timestamp: 100, value: 60))
        p.submit(samples)
        p.finishIngest()
        p.join()
        #expect(drainAll(p).map(\.severity) == [.warning])
        let (summary, alerts) = try afterRestart(p.snapshot(), [journaled(.raised, raisedAt: 100, ts: 101, severity: .critical)], calm: 0)
        #expect(summary.adopted == 1)
        #expect(alerts.isEmpty)
        // A critical sample now does not raise the id a second time.
        let (_, more) = try afterRestart(p.snapshot(), [journaled(.raised, raisedAt: 100, ts: 101, severity: .critical)], calm: 0, spike: true)
        #expect(more.isEmpty)
    }

    @Test("a reload that gives a raised sensor new settings carries the alert to the new chain, or closes it when it cannot")
    func reloadKeepsAlerts() throws {
        for (change, expected) in [("window", "cleared 100 none"), ("combine", "cleared 100 closed")] {
            let p = makePipeline(workers: 1)
            let id = p.registry.intern("r")!
            p.start()
            var samples = (0..<30).map { Sample(sensor: id, timestamp: Int64($0), value: Double($0 % 3)) }
            samples.append(Sample(sensor: id, timestamp: 100, value: 1_000))
            p.submit(samples)
            while p.samplesProcessed < 31 { usleep(200) }
            p.reload { name in
                var s = settings(name)
                if change == "window" { s.zscore!.configuration.window = 32 } else { s.combine = DetectorSettings.defaultCombine }
                return s
            }
            usleep(20_000)
            p.submit((0..<40).map { Sample(sensor: id, timestamp: Int64(200 + $0), value: Double($0 % 3)) })
            p.finishIngest()
            p.join()
            let alerts = drainAll(p).map { e -> String in
                let how = if case .closed = e.evidence { "closed" } else { "none" }
                return "\(e.event) \(e.raisedAt) \(how)"
            }
            #expect(alerts == ["raised 100 none", expected], "\(change)")
        }
    }
}

@Suite("Stage lifecycle")
struct StageLifecycleTests {
    final class FakeStage: Stage, @unchecked Sendable {
        let name: String
        let log: Lock<[String]>
        let heartbeat: Heartbeat
        init(_ name: String, _ log: Lock<[String]>) {
            self.name = name
            self.log = log
            heartbeat = Heartbeat(name: "t-" + name)
        }
        func start() { log.withLock { $0.append("start \(name)") } }
        func shutdownBegan() { log.withLock { $0.append("began \(name)") } }
        func requestStop() { log.withLock { $0.append("stop \(name)") } }
        func join() { log.withLock { $0.append("join \(name)") } }
        var heartbeats: [Heartbeat] { [heartbeat] }
    }

    @Test("the group starts first to last, tells every stage shutdown began, and stops last to first, each joined before the next is asked")
    func order() {
        let log = Lock<[String]>([])
        let group = StageGroup(["a", "b", "c"].map { FakeStage($0, log) })
        group.start()
        var stopped: [String] = []
        group.stop { name, _ in stopped.append(name) }
        group.stop()  // idempotent
        #expect(log.withLock { $0 } == ["start a", "start b", "start c", "began a", "began b", "began c",
                                        "stop c", "join c", "stop b", "join b", "stop a", "join a"])
        #expect(stopped == ["c", "b", "a"])
        #expect(group.heartbeats.map { $0.name } == ["t-a", "t-b", "t-c"])
    }

    @Test("the watchdog names a heartbeat that stands still past the limit, and forgets it once it moves")
    func watchdog() {
        let a = Heartbeat(name: "a"), b = Heartbeat(name: "b")
        let w = StageWatchdog(heartbeats: [a, b], stallLimit: .seconds(2), now: 0)
        #expect(w.check(now: 1_000_000_000).isEmpty)
        a.beat()
        #expect(w.check(now: 2_500_000_000).map(\.name) == ["b"], "b has not moved for 2.5 s")
        #expect(w.check(now: 2_500_000_000).first?.duration == .milliseconds(2500))
        b.beat()
        #expect(w.check(now: 2_600_000_000).isEmpty)
        #expect(w.check(now: 3_200_000_000).isEmpty, "a moved at 2.5 s")
        #expect(w.check(now: 4_700_000_000).map(\.name) == ["a", "b"])
    }
}
