// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import RingBuffer
import Synchronization
import VigilCore
import VigilPipeline
import ZeroMQ

/// The publish stage: one thread drains the workers' alert rings, gives each event the next
/// daemon-wide `seq` (continuing from the journal across restarts), journals the batch in one
/// SQLite transaction and then publishes each alert on the PUB socket as
/// `alert/<sensor>` + JSON.
final class AlertPublisher: @unchecked Sendable {
    private let options: DaemonOptions
    private let pipeline: Pipeline
    private let metrics: DaemonMetrics
    private let logger: Logger
    private var socket: ZMQSocket?
    private var journal: Journal?
    private var thread: StageThread?
    private var seq: UInt64 = 0

    init(options: DaemonOptions, pipeline: Pipeline, metrics: DaemonMetrics, logger: Logger) {
        self.options = options
        self.pipeline = pipeline
        self.metrics = metrics
        self.logger = logger
    }

    /// Opens the journal and binds the PUB socket on the caller's thread.
    func open(context: ZMQContext) throws {
        let j = try Journal(path: options.journalPath)
        seq = try j.lastSeq()
        metrics.lastSeq.set(0, seq)
        journal = j
        let s = try ZMQSocket(context: context, type: .pub)
        try s.setSendHighWaterMark(options.sendHighWaterMark)
        try s.bind(options.publishEndpoint)
        socket = s
    }

    /// The last `seq` handed out.
    var lastSeq: UInt64 { metrics.lastSeq[0] }

    func start() {
        thread = StageThread(name: "vigil-publish") { [self] in self.run() }
    }

    /// Waits until the pipeline's workers have stopped and every alert they emitted is published.
    func join() {
        thread?.join()
        thread = nil
    }

    private func run() {
        guard let socket, let journal else { return }
        var backoff = Backoff(maximumSleepMicroseconds: 2000)
        var batch: [(record: AlertRecord, json: String)] = []
        while true {
            let workersDone = !pipeline.isRunning
            let started = Clock.monotonicNanoseconds()
            batch.removeAll(keepingCapacity: true)
            pipeline.drainAlerts(maximum: 1024) { event in
                seq += 1
                metrics.countAlert(event)
                // An asset alert names its members: the isolation forest's isolating feature
                // (`feature_sensor`), each PCA contribution (`sensor`).
                let record = AlertRecord(seq: seq, event: event, sensorName: pipeline.registry.name(of: event.sensor)) { position in
                    pipeline.assets.member(of: event.sensor, at: position).map { pipeline.registry.name(of: $0) }
                }
                batch.append((record, record.json))
            }
            if batch.isEmpty {
                if workersDone { break }  // drained after the last worker exited
                backoff.pause()
                continue
            }
            backoff.reset()
            do {
                try journal.begin()
                for (record, json) in batch { try journal.append(record, json: json) }
                try journal.commit()
            } catch {
                metrics.journalErrors.add(0, 1)
                logger.error("\(error)")
            }
            for (record, json) in batch {
                do {
                    try socket.send(record.topic, more: true)
                    try socket.send(json)
                } catch {
                    logger.error("publish seq \(record.seq): \(error)")
                }
                metrics.lastSeq.set(0, record.seq)
            }
            metrics.publishLatency.observe(nanoseconds: Clock.monotonicNanoseconds() - started)
        }
        socket.close()
    }
}
