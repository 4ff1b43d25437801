// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import RingBuffer
import Synchronization
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// The detector state's durability: periodic crash-safe checkpoints while running
/// (`state.checkpoint_interval`) and the final snapshot at shutdown, both to
/// `<state>/detectors.snapshot` in the streamed version-2 format.
///
/// A periodic checkpoint never stops the sample path: the checkpoint thread bumps the pipeline's
/// checkpoint generation; each worker, between batches, serialises its own sensors a slice at a
/// time (about `Pipeline.checkpointSliceNanoseconds` each) into section payloads and hands them
/// over through its own SPSC ring; this thread writes each one to `detectors.snapshot.tmp` as it
/// arrives. Once every worker has delivered its last chunk, it waits until every alert event the
/// workers emitted before they finished capturing is journaled (so a restore never holds an
/// alert the journal lacks), writes the names and the end section with the covered and journal
/// `seq`s, and commits: fsync, rename, fsync of the directory. A crash at any point leaves the
/// previous checkpoint intact. The longest pause each worker took is logged and exported.
///
/// At shutdown (`requestStop`, called by the stage group after the workers and the publisher
/// have stopped) the thread abandons any checkpoint in progress and writes the stopped state
/// whole: every alert is journaled by then, so its `seq`s are exact.
///
/// Threading: `start`, `requestStop` and `join` from the group's thread; everything else on the
/// checkpoint thread (`vigil-checkpoint`), the single consumer of the workers' chunk rings.
final class Checkpointer: Stage, @unchecked Sendable {
    let name = "checkpointer"
    private let options: DaemonOptions
    private let pipeline: Pipeline
    private let metrics: DaemonMetrics
    private let logger: Logger
    let path: String
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)
    private let shuttingDown = Atomic<Bool>(false)
    private let heartbeat = Heartbeat(name: "vigil-checkpoint")
    /// How long a checkpoint may wait for the workers' chunks before it is given up.
    var captureTimeout: Duration = .seconds(120)
    /// How long a captured checkpoint may wait for its alerts to be journaled.
    var journalTimeout: Duration = .seconds(30)
    /// A second home for each committed checkpoint (JetStream key-value with `nats`), handed the
    /// file and the alert stream sequence read when the checkpoint began. Set before `start`.
    var replica: NATSCheckpointStore?

    init(options: DaemonOptions, pipeline: Pipeline, metrics: DaemonMetrics, logger: Logger, path: String) {
        self.options = options
        self.pipeline = pipeline
        self.metrics = metrics
        self.logger = logger
        self.path = path
    }

    var heartbeats: [Heartbeat] { [heartbeat] }

    func start() {
        thread = StageThread(name: "vigil-checkpoint") { [self] in self.run() }
    }

    /// No new periodic checkpoint starts, and one in progress is given up (the stopped state is
    /// written whole at `requestStop`).
    func shutdownBegan() { shuttingDown.store(true, ordering: .releasing) }

    /// Ends the periodic checkpoints and writes the stopped state (the workers and the publisher
    /// have stopped). Returns at once; `join` waits for the file.
    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Whether shutdown has begun (the daemon drains): no new checkpoint starts, one in progress
    /// is given up (the stopped state is written whole instead).
    private var isShuttingDown: Bool {
        isStopping || shuttingDown.load(ordering: .acquiring) || pipeline.isFinishing
    }

    private func run() {
        let interval = nanoseconds(options.checkpointInterval)
        var next = SystemTime.monotonicNanoseconds() &+ interval
        while !isStopping {
            heartbeat.beat()
            let now = SystemTime.monotonicNanoseconds()
            if interval > 0, now >= next, !isShuttingDown {
                checkpoint()
                next = SystemTime.monotonicNanoseconds() &+ interval
            }
            usleep(UInt32(min(100_000, max(1000, (next &- SystemTime.monotonicNanoseconds()) / 1000))))
        }
        writeStoppedState()
    }

    // MARK: Periodic checkpoints

    /// One periodic checkpoint: request, stream the chunks, wait for the alerts, commit.
    private func checkpoint() {
        let started = SystemTime.monotonicNanoseconds()
        let createdAt = SystemTime.wallNanoseconds()
        let workers = pipeline.configuration.workers
        let file: AtomicFileWriter
        do {
            file = try AtomicFileWriter(path: path)
        } catch {
            fail("cannot start a checkpoint: \(error)")
            return
        }
        let request = pipeline.requestCheckpoint()
        // After the covered seq: every alert up to it is in the alert stream at or below this.
        let alertStreamMark = replica?.alertStreamMark() ?? 0
        var assembler = DetectorSnapshotAssembler()
        var last = [CheckpointChunk?](repeating: nil, count: workers)
        func giveUp(_ why: String) {
            pipeline.cancelCheckpoint(request.generation)
            file.abandon()
            drainChunks()
            fail(why)
        }
        var names = SnapshotNames()
        do throws(StateFileError) {
            try file.write(assembler.header())
            var idle = Backoff(maximumSleepMicroseconds: 1000)
            while last.contains(where: { $0 == nil }) {
                heartbeat.beat()
                if isShuttingDown {
                    giveUp("checkpoint \(request.generation) given up: shutting down (the stopped state is written whole)")
                    return
                }
                if SystemTime.monotonicNanoseconds() &- started > nanoseconds(captureTimeout) {
                    let missing = last.indices.filter { last[$0] == nil }.map { "worker\($0)" }.joined(separator: ", ")
                    giveUp("checkpoint \(request.generation) given up after \(captureTimeout): \(missing) did not finish capturing")
                    return
                }
                var got = false
                for w in 0..<workers where last[w] == nil {
                    while let chunk = pipeline.nextCheckpointChunk(worker: w) {
                        guard chunk.generation == request.generation else { continue }  // left from a given-up one
                        got = true
                        let (prefix, suffix) = assembler.frame(chunk.kind, chunk.payload, records: chunk.records)
                        try file.write(prefix)
                        try file.write(chunk.payload)
                        try file.write(suffix)
                        names.add(chunk)
                        pipeline.recycleCheckpointBuffer(chunk.payload, worker: w)
                        heartbeat.beat()
                        if chunk.isLast {
                            last[w] = chunk
                            break
                        }
                    }
                }
                if got { idle.reset() } else { idle.pause() }
            }
            // Every alert the workers emitted before they finished capturing must be journaled
            // before this state may stand for them.
            let waitStarted = SystemTime.monotonicNanoseconds()
            while let w = (0..<workers).first(where: { pipeline.alertsJournaled(worker: $0) < last[$0]!.alertsEmitted }) {
                heartbeat.beat()
                if isShuttingDown {
                    giveUp("checkpoint \(request.generation) given up: shutting down")
                    return
                }
                if SystemTime.monotonicNanoseconds() &- waitStarted > nanoseconds(journalTimeout) {
                    let behind = last[w]!.alertsEmitted - pipeline.alertsJournaled(worker: w)
                    giveUp("checkpoint \(request.generation) given up: \(behind) alerts worker\(w) emitted before it are not journaled after \(journalTimeout) (journal not writable?); the previous checkpoint stays")
                    return
                }
                usleep(5000)
            }
            let journalSeq = pipeline.journaledSeq
            try file.write(assembler.finish(names: names.all, coveredSeq: request.coveredSeq,
                                            journalSeq: journalSeq, createdAt: createdAt))
            try file.commit()
        } catch {
            giveUp("checkpoint \(request.generation) not written: \(error); the previous checkpoint stays")
            return
        }
        replica?.upload(path: path, alertStreamMark: alertStreamMark)
        let chunks = last.map { $0! }
        let took = SystemTime.monotonicNanoseconds() &- started
        succeed(duration: took, bytes: assembler.offset, sensors: Int(assembler.sensorRecords), createdAt: createdAt)
        metrics.setCheckpointPauses(chunks.map(\.longestPause))
        let pauses = chunks.map {
            "worker\($0.worker) \(milliseconds($0.longestPause)) ms (cpu \(milliseconds($0.longestPauseCPU)) ms) in \($0.slices) slices"
        }.joined(separator: ", ")
        logger.info("checkpoint written", metadata: [
            "sensors": "\(assembler.sensorRecords)", "assets": "\(assembler.assetRecords)", "bytes": "\(assembler.offset)",
            "ms": "\(milliseconds(took))", "covered_seq": "\(request.coveredSeq)", "journal_seq": "\(pipeline.journaledSeq)",
            "longest_pause": "\(pauses)",
        ])
    }

    /// Drops chunks still queued (of a given-up checkpoint), so their memory goes now.
    private func drainChunks() {
        for w in 0..<pipeline.configuration.workers {
            while pipeline.nextCheckpointChunk(worker: w) != nil {}
        }
    }

    private func fail(_ why: String) {
        metrics.checkpointFailures.add(0, 1)
        logger.warning("\(why)")
    }

    private func succeed(duration: UInt64, bytes: Int, sensors: Int, createdAt: Int64) {
        metrics.checkpoints.add(0, 1)
        metrics.checkpointLast.set(0, duration)
        metrics.checkpointLast.set(1, UInt64(bytes))
        metrics.checkpointLast.set(2, UInt64(sensors))
        metrics.checkpointLast.set(3, UInt64(max(0, createdAt)))
    }

    // MARK: At shutdown

    /// Writes the stopped state whole, streamed chunk by chunk (the workers have exited, the
    /// publisher has journaled everything it will): one thread per worker serialises that worker's
    /// state into chunks while this thread writes them, so serialising and writing overlap.
    /// Failures are logged; the previous checkpoint then stays.
    private func writeStoppedState() {
        drainChunks()
        let started = SystemTime.monotonicNanoseconds()
        let createdAt = SystemTime.wallNanoseconds()
        let seq = pipeline.journaledSeq
        let workers = pipeline.configuration.workers
        var assembler = DetectorSnapshotAssembler()
        var writing: UInt64 = 0
        var syncing: UInt64 = 0
        let handOver = (0..<workers).map { _ in SPSCRing<CheckpointChunk>(minimumCapacity: 4) }
        let returned = (0..<workers).map { _ in SPSCRing<[UInt8]>(minimumCapacity: 8) }
        let producing = Atomic<Int>(workers)
        let abandoned = Atomic<Bool>(false)
        let pipeline = self.pipeline
        let producers = (0..<workers).map { w in
            StageThread(name: "vigil-snapshot\(w)") {
                struct Abandoned: Error {}
                try? pipeline.forEachStoppedStateChunk(worker: w, buffers: { returned[w].pop() }) { chunk in
                    var b = Backoff(maximumSleepMicroseconds: 200)
                    while !handOver[w].push(chunk) {
                        if abandoned.load(ordering: .acquiring) { throw Abandoned() }
                        b.pause()
                    }
                }
                producing.wrappingSubtract(1, ordering: .releasing)
            }
        }
        defer {
            abandoned.store(true, ordering: .releasing)
            for p in producers { p.join() }
        }
        var names = SnapshotNames()
        do {
            let file = try AtomicFileWriter(path: path)
            do {
                try file.write(assembler.header())
                var idle = Backoff(maximumSleepMicroseconds: 200)
                while true {
                    let finished = producing.load(ordering: .acquiring) == 0
                    var got = false
                    for (w, ring) in handOver.enumerated() {
                        while let chunk = ring.pop() {
                            got = true
                            let begin = SystemTime.monotonicNanoseconds()
                            let (prefix, suffix) = assembler.frame(chunk.kind, chunk.payload, records: chunk.records)
                            names.add(chunk)
                            try file.write(prefix)
                            try file.write(chunk.payload)
                            try file.write(suffix)
                            _ = returned[w].push(chunk.payload)
                            heartbeat.beat()
                            writing &+= SystemTime.monotonicNanoseconds() &- begin
                        }
                    }
                    if got {
                        idle.reset()
                    } else if finished {
                        break  // every producer is done and every ring was empty after that
                    } else {
                        heartbeat.beat()
                        idle.pause()
                    }
                }
                try file.write(assembler.finish(names: names.all, coveredSeq: seq, journalSeq: seq, createdAt: createdAt))
                let begin = SystemTime.monotonicNanoseconds()
                try file.commit()
                syncing = SystemTime.monotonicNanoseconds() &- begin
            } catch {
                file.abandon()
                throw error
            }
        } catch {
            fail("cannot save detector state: \(error); the last checkpoint stays")
            return
        }
        replica?.upload(path: path, alertStreamMark: replica?.alertStreamMark() ?? 0)
        let took = SystemTime.monotonicNanoseconds() &- started
        succeed(duration: took, bytes: assembler.offset, sensors: Int(assembler.sensorRecords), createdAt: createdAt)
        logger.info("saved detector state", metadata: [
            "sensors": "\(assembler.sensorRecords)", "assets": "\(assembler.assetRecords)", "bytes": "\(assembler.offset)",
            "ms": "\(milliseconds(took))", "write_ms": "\(milliseconds(writing))", "sync_ms": "\(milliseconds(syncing))",
            "journal_seq": "\(seq)", "path": "\(path)",
        ])
    }

    private func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto / 1_000_000_000))
    }

    private func milliseconds(_ ns: UInt64) -> String {
        let ms = Double(ns) / 1e6
        return ms < 10 ? String(Double(Int(ms * 100)) / 100) : String(Int(ms))
    }
}
