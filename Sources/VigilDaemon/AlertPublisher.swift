// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilJournal
import VigilPipeline
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// The publish stage: one thread drains the workers' alert rings, gives each event the next
/// daemon-wide `seq` (continuing from the journal across restarts), journals the batch in one
/// SQLite transaction and only then publishes each alert on the PUB socket as
/// `alert/<sensor>` + JSON.
///
/// Publish only what is journaled: when a batch cannot be written (disk full, I/O error, another
/// process holding the write lock), the journal rolls it back, the publisher keeps the batch
/// (same `seq`s) and retries it with exponential backoff, and publishes nothing meanwhile. While
/// it cannot write, `/readyz` answers 503 and `vigil_journal_errors_total` counts each failed
/// try; the workers' alert rings fill and backpressure reaches ingest, so nothing is dropped.
/// Only when stopping, after `stopGiveUpSeconds` of failures, does it give up: the alerts
/// still held (and any the workers emit after) are neither journaled nor published, and one log
/// line says how many.
///
/// After each committed batch it tells the pipeline what is journaled
/// (`Pipeline.alertsJournaled(throughSeq:)`): a checkpoint is committed only once every alert
/// emitted before it is. Clears the daemon makes itself at start-up (`preload`, from the
/// reconcile with the journal) are journaled and published before anything the workers emit.
///
/// As a stage it stops after the workers: it exits once stopping was requested, every worker has
/// exited and their alert rings are empty.
///
/// Threading: `open`, `preload` and `start` on the starting thread; then the PUB socket and the
/// journal writer belong to the publisher thread. `requestStop` and `lastSeq` from any thread.
final class AlertPublisher: Stage, @unchecked Sendable {
    let name = "publisher"
    private let heartbeat = Heartbeat(name: "vigil-publish")
    var heartbeats: [Heartbeat] { [heartbeat] }
    /// Clears to journal and publish first (see `preload`).
    private var preloaded: [ClosedAlert] = []
    private let options: DaemonOptions
    private let pipeline: Pipeline
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let auth: CurveAuthenticator?
    private var socket: ZMQSocket?
    private var journal: Journal?
    /// The JetStream alert stream (config `nats`): every event is stored there after the journal
    /// and before the pipeline hears it is journaled, so a JetStream sample message is
    /// acknowledged only once its alerts are in the stream.
    var alertStream: AlertStreamSink?
    private var thread: StageThread?
    private var seq: UInt64 = 0
    /// Monotonic nanoseconds at which shutdown began (the give-up clock), 0 while running.
    private let stopRequestedAt = Atomic<UInt64>(0)
    /// Set by `requestStop`: exit once the workers have exited and their rings are empty.
    private let exitRequested = Atomic<Bool>(false)
    /// How long a stopping publisher keeps retrying a journal that fails before it gives up.
    var stopGiveUpSeconds: Double = 5
    /// Retry delays while the journal or the alert stream fails.
    private let retryDelay = RetryDelay(firstMilliseconds: 50, maximumMilliseconds: 2000)

    init(options: DaemonOptions, pipeline: Pipeline, metrics: DaemonMetrics, auth: CurveAuthenticator?, logger: Logger) {
        self.options = options
        self.auth = auth
        self.pipeline = pipeline
        self.metrics = metrics
        self.logger = logger
    }

    /// Opens (creating) the journal and binds the PUB socket on the caller's thread (a CURVE
    /// server with `security.curve`). `seq` continues from the journal's last, or from
    /// `minimumSeq` (the restored checkpoint's journal `seq`) when the journal is behind it, so
    /// that no `seq` a subscriber saw is used again.
    func open(context: ZMQContext, minimumSeq: UInt64 = 0) throws {
        let j = try Journal(path: options.journalPath, access: .readWrite)
        let journalSeq = try j.lastSeq()
        if minimumSeq > journalSeq {
            logger.warning("the journal is behind the detector checkpoint: its last seq is \(journalSeq), the checkpoint was written at seq \(minimumSeq) (the journal was replaced, restored from a backup, or lost its last writes to a power failure); alerts \(journalSeq + 1)…\(minimumSeq) are missing from it, seq continues from \(minimumSeq + 1)")
        }
        seq = max(journalSeq, minimumSeq)
        metrics.lastSeq.set(0, seq)
        journal = j
        let s = try ZMQSocket(context: context, type: .pub)
        try s.setSendHighWaterMark(options.sendHighWaterMark)
        try auth?.secureServer(s, endpoint: options.publishEndpoint, context: context)
        try s.bind(options.publishEndpoint)
        socket = s
    }

    /// The last `seq` published.
    var lastSeq: UInt64 { metrics.lastSeq[0] }

    /// Clears to journal and publish before anything else (alerts the journal shows raised that
    /// no restored detector can take over). Before `start()`.
    func preload(_ closed: [ClosedAlert]) {
        precondition(thread == nil, "AlertPublisher.preload is called before start()")
        preloaded = closed
    }

    func start() {
        thread = StageThread(name: "vigil-publish") { [self] in self.run() }
    }

    /// Starts the give-up clock when shutdown begins (before ingest drains), so a journal that
    /// keeps failing is given up on after `stopGiveUpSeconds` instead of holding the rings, the
    /// workers and ingest's drain forever. Any thread.
    func shutdownBegan() {
        _ = stopRequestedAt.compareExchange(expected: 0, desired: SystemTime.monotonicNanoseconds(), ordering: .relaxed)
    }

    /// Tells the publisher to exit once the workers have exited and every alert they emitted is
    /// published (or given up on). Any thread.
    func requestStop() {
        shutdownBegan()
        exitRequested.store(true, ordering: .releasing)
    }

    /// Waits until the pipeline's workers have stopped and every alert they emitted is published
    /// (or, with a journal that failed until the give-up time, dropped and logged).
    func join() {
        thread?.join()
        thread = nil
    }

    private func run() {
        guard let socket, let journal else { return }
        var idle = 0  // empty drains in a row
        var batch: [(record: AlertRecord, json: String, ingestedAt: UInt64)] = []
        var entries: [JournalEntry] = []
        var failures = 0           // consecutive failed tries of the held batch
        var lastFailureLog: UInt64 = 0
        var abandoned = 0          // alerts given up on while stopping
        for closed in preloaded {
            seq += 1
            let record = AlertRecord(seq: seq, event: closed.event, sensorName: closed.sensorName)
            batch.append((record, record.json, 0))
        }
        preloaded = []
        if !batch.isEmpty { entries = batch.map { JournalEntry($0.record, json: $0.json) } }
        while true {
            heartbeat.beat()
            // Exit only when asked, once the workers have exited and their rings are empty.
            let workersDone = exitRequested.load(ordering: .acquiring) && !pipeline.isRunning
            let started = SystemTime.monotonicNanoseconds()
            if batch.isEmpty {
                pipeline.drainAlerts(maximum: 1024) { event in
                    seq += 1
                    // An asset alert names its members: the isolation forest's isolating feature
                    // (`feature_sensor`), each PCA contribution (`sensor`).
                    // A relation's alert names the terms that moved.
                    let record = AlertRecord(seq: seq, event: event, sensorName: pipeline.registry.name(of: event.sensor), memberName: { position in
                        pipeline.assets.member(of: event.sensor, at: position).map { pipeline.registry.name(of: $0) }
                    }, termName: { event.relation == nil ? nil : pipeline.assets.relationTerm(of: event.sensor, at: $0) })
                    batch.append((record, record.json, event.ingestedAt))
                }
                if batch.isEmpty {
                    if workersDone { break }  // drained after the last worker exited
                    idle += 1
                    // A short spin, then sleep until a worker emits (2 ms at most): an alert
                    // is published microseconds after it is emitted, not after a sleep.
                    if idle >= 64 { pipeline.waitForAlerts(timeoutMilliseconds: 2) }
                    continue
                }
                idle = 0
                if abandoned > 0 {
                    abandoned += batch.count
                    batch.removeAll(keepingCapacity: true)
                    continue
                }
                entries = batch.map { JournalEntry($0.record, json: $0.json) }
            }
            do {
                try journal.append(entries, journaledAt: SystemTime.wallNanoseconds())
            } catch {
                failures += 1
                metrics.journalErrors.add(0, 1)
                metrics.journalWritable.store(false, ordering: .releasing)
                let now = SystemTime.monotonicNanoseconds()
                let range = "seq \(batch.first!.record.seq)…\(batch.last!.record.seq)"
                if failures == 1 {
                    logger.error("\(error); holding \(batch.count) alerts (\(range)) and retrying: nothing is published until the journal takes them")
                    lastFailureLog = now
                } else if now - lastFailureLog > 30_000_000_000 {
                    logger.error("journal still failing after \(failures) tries, \(batch.count) alerts held (\(range)): \(error)")
                    lastFailureLog = now
                }
                let stopAt = stopRequestedAt.load(ordering: .relaxed)
                if stopAt != 0, Double(now - stopAt) / 1e9 >= stopGiveUpSeconds {
                    abandoned = batch.count
                    logger.critical("stopping with an unwritable journal: giving up on \(batch.count) held alerts (\(range)) and any emitted after; they are neither journaled nor published")
                    batch.removeAll(keepingCapacity: true)
                    continue
                }
                sleepChecked(milliseconds: retryDelay.milliseconds(afterFailures: failures))
                continue
            }
            if let alertStream { storeInAlertStream(batch.map { ($0.record, $0.json) }, alertStream) }
            pipeline.alertsJournaled(throughSeq: batch.last!.record.seq)
            if failures > 0 {
                logger.notice("journal writable again after \(failures) failed tries; publishing the \(batch.count) held alerts")
                failures = 0
                metrics.journalWritable.store(true, ordering: .releasing)
            }
            for (record, json, ingestedAt) in batch {
                metrics.countAlert(record)
                do {
                    try socket.send(record.topic, more: true)
                    try socket.send(json)
                } catch {
                    logger.error("publish seq \(record.seq): \(error)")
                }
                metrics.lastSeq.set(0, record.seq)
                if ingestedAt != 0 {
                    let now = SystemTime.monotonicNanoseconds()
                    metrics.alertLatency.observe(nanoseconds: now > ingestedAt ? now - ingestedAt : 0)
                }
            }
            batch.removeAll(keepingCapacity: true)
            metrics.publishLatency.observe(nanoseconds: SystemTime.monotonicNanoseconds() - started)
        }
        if abandoned > 0 {
            logger.critical("\(abandoned) alerts were lost to the unwritable journal (neither journaled nor published)")
        }
        socket.close()
    }

    /// Stores a journaled batch in the alert stream, retrying each event (with the same
    /// `Nats-Msg-Id`, so a retry is stored once) until JetStream takes it. Only when stopping,
    /// after `stopGiveUpSeconds` of failures, does it give up on the rest (one critical line: the
    /// journal has them, the alert stream does not).
    private func storeInAlertStream(_ events: [(AlertRecord, String)], _ sink: AlertStreamSink) {
        var failures = 0
        var i = 0
        while i < events.count {
            heartbeat.beat()
            do {
                if try sink.publish(events[i].0, json: events[i].1) { metrics.natsCounters.add(2, 1) }
                metrics.natsCounters.add(1, 1)
                i += 1
                if failures > 0 {
                    logger.notice("alert stream writable again after \(failures) failed tries")
                    failures = 0
                }
            } catch {
                failures += 1
                metrics.natsCounters.add(3, 1)
                if failures == 1 || failures % 20 == 0 {
                    logger.error("cannot store alert seq \(events[i].0.seq) in the alert stream \(sink.stream): \(error); retrying (JetStream sample messages stay unacknowledged meanwhile)")
                }
                let stopAt = stopRequestedAt.load(ordering: .relaxed)
                if stopAt != 0, Double(SystemTime.monotonicNanoseconds() - stopAt) / 1e9 >= stopGiveUpSeconds {
                    logger.critical("stopping with an unreachable alert stream: \(events.count - i) journaled alerts (seq \(events[i].0.seq)…) are not in \(sink.stream)")
                    return
                }
                sleepChecked(milliseconds: retryDelay.milliseconds(afterFailures: failures))
            }
        }
    }

    /// Sleeps up to `milliseconds` in 50 ms slices, returning early once stopping began (so the
    /// give-up deadline is checked on time).
    private func sleepChecked(milliseconds: Int) {
        var left = milliseconds
        while left > 0 {
            heartbeat.beat()
            usleep(UInt32(min(left, 50)) * 1000)
            left -= 50
            if stopRequestedAt.load(ordering: .relaxed) != 0 { return }
        }
    }
}
