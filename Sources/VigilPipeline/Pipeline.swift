// SPDX-License-Identifier: GPL-3.0-or-later
import RingBuffer
import Synchronization
import VigilCore
import VigilDetectors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shape of the pipeline.
public struct PipelineConfiguration: Sendable, Equatable {
    /// Worker threads, each owning the detector state of its sensors.
    public var workers: Int
    /// Samples each worker's input ring holds (rounded up to a power of two).
    public var ringCapacity: Int
    public var overflow: OverflowPolicy
    /// Alert events each worker's output ring holds.
    public var alertRingCapacity: Int
    /// Members an asset needs before its multivariate detectors run (config `grouping.min_members`).
    public var minimumAssetMembers: Int
    /// Whether asset members alert on their own once their asset's monitor monitors (config
    /// `grouping.member_alerts`).
    public var memberAlerts: MemberAlerts

    public init(workers: Int = PipelineConfiguration.defaultWorkers, ringCapacity: Int = 65_536,
                overflow: OverflowPolicy = .block, alertRingCapacity: Int = 16_384, minimumAssetMembers: Int = 2,
                memberAlerts: MemberAlerts = .whileLearning) {
        precondition(workers >= 1 && ringCapacity >= 1 && alertRingCapacity >= 1 && minimumAssetMembers >= 1)
        self.workers = workers
        self.ringCapacity = ringCapacity
        self.overflow = overflow
        self.alertRingCapacity = alertRingCapacity
        self.minimumAssetMembers = minimumAssetMembers
        self.memberAlerts = memberAlerts
    }

    /// The `auto` worker count (`WorkerCount.automatic`) of this machine's online processors.
    public static var defaultWorkers: Int { WorkerCount.automatic() }
}

/// What `Pipeline.restore(_:)` did with a snapshot.
public struct RestoreSummary: Sendable, Equatable {
    /// Sensors whose detector chain was restored.
    public var sensorsRestored = 0
    /// Sensors started fresh because their settings changed since the snapshot.
    public var sensorsSkipped = 0
    /// Assets whose multivariate detector was restored.
    public var assetsRestored = 0
    /// Assets started fresh (settings or members changed).
    public var assetsSkipped = 0

    public init() {}
}

/// Detector state of one worker: handed to it at start (restore) and back by it at exit (snapshot).
struct WorkerState: Sendable {
    var states: [SensorDetectors] = []
    var assetDetectors: [UInt32: AssetDetector] = [:]
    var relations: [RelationMonitor] = []
}

/// One worker's hand-over box. `seed` is written before `start()` and read (then emptied) by the
/// worker as it starts; `final` is written by the worker as it exits and read after `join()`.
/// Thread creation and `join` order these accesses, so no lock is needed and the worker never
/// touches the box between its first and last sample.
final class WorkerSlot: @unchecked Sendable {
    var seed = WorkerState()
    var final = WorkerState()
}

/// The fingerprint of the settings seen last, so that a run of chains with equal settings (the
/// usual case) is fingerprinted once. A plain value owned by one thread.
struct FingerprintCache {
    private var settings: DetectorSettings?
    private var fingerprint: UInt64 = 0

    mutating func of(_ s: DetectorSettings) -> UInt64 {
        if let known = settings, known == s { return fingerprint }
        settings = s
        fingerprint = s.fingerprint
        return fingerprint
    }
}

/// Ingest → worker: free the detector state of `sensor` once the worker has processed the first
/// `after` samples of its ring (every sample of the sensor was queued before that point).
struct RetireCommand: Sendable {
    var sensor: UInt32
    var after: UInt64
}

/// Worker → ingest: the state of `sensor` is freed; the worker had pushed `alerts` alert events
/// into its output ring by then (so every event of the sensor is among the first `alerts`).
struct RetireAck: Sendable {
    var sensor: UInt32
    var alerts: UInt64
}

/// A point in the sample stream (see `Pipeline.fence()`): the samples pushed to each worker by
/// then, and, once they are processed, the alert events each worker had emitted.
public struct ProcessingFence: Sendable {
    let pushed: [UInt64]
    var emitted: [UInt64]?
}

/// Resolves a sensor's detector settings from its name (the config's defaults and overrides).
public typealias SettingsResolver = @Sendable (String) -> DetectorSettings

/// Resolves an asset's PCA monitor settings from the asset's name (nil: no PCA monitor).
public typealias PCASettingsResolver = @Sendable (String) -> DetectorSection<PCAConfiguration>?

/// The relations of an asset, by the asset's name (config `relations`).
public typealias RelationResolver = @Sendable (String) -> [RelationDefinition]

/// The resolvers a worker reads together (replaced together on reload).
struct Resolvers: Sendable {
    var settings: SettingsResolver
    var pca: PCASettingsResolver?
}

/// The lock-free core of the daemon: an ingest side that shards samples by sensor over N worker
/// threads through SPSC rings, workers that own their sensors' detector state and emit alert
/// events into per-worker SPSC rings, and a publisher side that drains those.
///
/// ```
///  ingest thread ──ring──▶ worker 0 ──ring──▶
///        │       ──ring──▶ worker 1 ──ring──▶  publisher thread
///        └─ shard = sensor mod N                (drainAlerts)
/// ```
///
/// Threading: `submit` and `finishIngest` are called by exactly one ingest thread;
/// `drainAlerts` and `alertsJournaled(throughSeq:)` by exactly one publisher thread;
/// `requestCheckpoint`, `cancelCheckpoint`, `nextCheckpointChunk` and `recycleCheckpointBuffer`
/// by exactly one checkpoint thread (workers capture their own state between batches and hand it
/// over through per-worker SPSC rings: nothing on the sample path locks or waits for it);
/// `restore`, `reconcile` and `setJournaledSeq` before `start()`, on the thread that is then the
/// registry's writer; `snapshot` and the stopped-state chunks after `join()`; `reload` and the
/// statistics by any thread. Samples of one sensor are processed in arrival order by one worker;
/// its alert events reach the publisher in order.
public final class Pipeline: @unchecked Sendable {
    public let configuration: PipelineConfiguration
    public let registry: SensorRegistry
    public let drops: DropCounters
    private let inputs: [SPSCRing<Sample>]
    private let outputs: [SPSCRing<AlertEvent>]
    /// Rung by ingest after pushing to worker w's ring (the worker sleeps on it when idle).
    private let inputBells: [Doorbell]
    /// Rung by every worker after pushing an alert event (the publisher sleeps on it when idle).
    private let alertBell = Doorbell()
    private var threads: [StageThread] = []
    private let ingestFinished = Atomic<Bool>(false)
    private let workersRunning = Atomic<Int>(0)

    private let resolver: Lock<Resolvers>
    private let settingsGeneration = Atomic<Int>(0)

    /// Counters: [0] samples accepted by ingest, [1 + w] samples processed by worker w,
    /// [1 + N + w] alert events emitted by worker w.
    private let counters: AtomicCounters

    // Ingest-side staging for sharding mixed batches (ingest thread only).
    private var staging: [[Sample]]
    /// Ingest thread only: the worker of each sensor index, filled as sensors appear.
    private var shardOf: [UInt16] = []
    /// The asset of a sensor name (config `assets`); nil when sensors are not grouped.
    private let assetOf: (@Sendable (String) -> String?)?
    /// Asset membership of every sensor that belongs to an asset.
    public let assets: AssetTable
    /// Registry indices that are assets (ingest thread only).
    private var assetIndices: Set<UInt32> = []
    /// The relations of an asset (config `relations`), read when ingest first sees the asset.
    private let relationsOf: RelationResolver?
    /// Registry indices that are relations' residuals, with their asset (ingest thread only).
    private var relationOwner: [UInt32: UInt32] = [:]
    /// Per-worker state hand-over for `restore` and `snapshot` (see `WorkerSlot`).
    private let slots: [WorkerSlot]

    /// One heartbeat per worker thread (`vigil-worker<N>`), bumped once per loop turn.
    public let workerHeartbeats: [Heartbeat]
    /// The ingest thread's heartbeat: the ingest stage bumps it in its loop, and `submit` while it
    /// waits on a full ring (backpressure is progress, not a stall).
    public let ingestHeartbeat = Heartbeat(name: "vigil-ingest")

    // Checkpoints (see `Pipeline+Checkpoint.swift`).
    /// The checkpoint generation requested last (0: none yet); workers capture when it changes.
    let checkpointRequested = Atomic<UInt64>(0)
    /// A generation the checkpointer gave up on: workers stop capturing it.
    let checkpointCancelled = Atomic<UInt64>(0)
    /// Per worker: captured section payloads on their way to the checkpointer.
    let checkpointChunks: [SPSCRing<CheckpointChunk>]
    /// Per worker: payload buffers the checkpointer has written, on their way back for reuse (a
    /// fresh megabyte costs hundreds of page faults on the worker's thread).
    let checkpointBuffers: [SPSCRing<[UInt8]>]
    /// How many bytes of state a worker serialises into one chunk at most.
    public var checkpointChunkBytes = 1 << 20
    /// How long one capture slice may run before the worker goes back to its samples.
    public var checkpointSliceNanoseconds: UInt64 = 1_000_000

    // Alert progress, for checkpoints: a checkpoint is committed only once every alert event its
    // workers emitted before capturing is journaled.
    /// Publisher thread only: alert events drained so far, per worker.
    private var drained: [UInt64]
    /// Alert events journaled so far, per worker (stored by the publisher with release).
    private let journaled: UnsafeMutablePointer<Atomic<UInt64>>
    /// The `seq` of the last journaled alert (stored by the publisher before `journaled`).
    private let journaledSeqStorage = Atomic<UInt64>(0)
    /// Samples processed by each worker, stored with release after its emitted-alerts counter,
    /// so a reader that sees a count also sees every alert event those samples caused (fences).
    private let progress: UnsafeMutablePointer<Atomic<UInt64>>

    // Eviction (see `retire(_:)`).
    /// Most retirements in flight per worker: the capacity of its command and answer rings.
    static let retireCapacity = 4096
    private let retireCommands: [SPSCRing<RetireCommand>]
    private let retireAcks: [SPSCRing<RetireAck>]
    /// Alert events the publisher has drained from each worker's output ring (written with a
    /// releasing add after the events were handled, read with an acquiring load by ingest).
    private let drainedAlerts: UnsafeMutablePointer<Atomic<UInt64>>
    /// Ingest thread only: samples pushed into each worker's ring so far.
    private var pushed: [UInt64]
    /// Ingest thread only: retirements sent to each worker and not answered yet.
    private var retiring: [Int]
    /// Ingest thread only: answered retirements waiting for the publisher to drain past them.
    private var quarantine: [(ack: RetireAck, worker: Int)] = []
    /// Ingest thread only: sensors that are never evicted (assets and their members).
    private var pinned: [Bool] = []
    /// [0] sensors evicted (slot released) so far.
    private let evictions = AtomicCounters(count: 1)
    /// [0] assets registered so far (their names are registry entries, not sensors).
    private let assetCount = AtomicCounters(count: 1)
    /// Per registry index: 1 while the sensor has a raised alert (written by its worker when an
    /// alert event changes it, read by ingest before evicting: an open alert is never orphaned).
    private let raisedFlags: UnsafeMutablePointer<Atomic<UInt8>>

    /// - Parameters:
    ///   - assetOf: the asset of a sensor name; an asset's sensors are processed by one worker,
    ///     which also runs the asset's multivariate detector (`AssetDetector`).
    ///   - pcaSettings: the PCA monitor of an asset, by the asset's name.
    public init(configuration: PipelineConfiguration, registry: SensorRegistry, drops: DropCounters,
                settings: @escaping SettingsResolver, assetOf: (@Sendable (String) -> String?)? = nil,
                pcaSettings: PCASettingsResolver? = nil, relations: RelationResolver? = nil) {
        self.assetOf = assetOf
        relationsOf = relations
        self.configuration = configuration
        self.registry = registry
        assets = AssetTable(capacity: registry.limit)
        self.drops = drops
        inputs = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: configuration.ringCapacity) }
        outputs = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: configuration.alertRingCapacity) }
        inputBells = (0..<configuration.workers).map { _ in Doorbell() }
        resolver = Lock(Resolvers(settings: settings, pca: pcaSettings))
        slots = (0..<configuration.workers).map { _ in WorkerSlot() }
        counters = AtomicCounters(count: 1 + 2 * configuration.workers)
        workerHeartbeats = (0..<configuration.workers).map { Heartbeat(name: "vigil-worker\($0)") }
        checkpointChunks = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: 4) }
        checkpointBuffers = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: 8) }
        drained = Array(repeating: 0, count: configuration.workers)
        journaled = .allocate(capacity: configuration.workers)
        for w in 0..<configuration.workers { (journaled + w).initialize(to: Atomic(0)) }
        progress = .allocate(capacity: configuration.workers)
        for w in 0..<configuration.workers { (progress + w).initialize(to: Atomic(0)) }
        staging = (0..<configuration.workers).map { _ in
            var a: [Sample] = []
            a.reserveCapacity(1024)
            return a
        }
        retireCommands = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: Self.retireCapacity) }
        retireAcks = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: Self.retireCapacity) }
        drainedAlerts = .allocate(capacity: configuration.workers)
        for w in 0..<configuration.workers { (drainedAlerts + w).initialize(to: Atomic(0)) }
        pushed = Array(repeating: 0, count: configuration.workers)
        retiring = Array(repeating: 0, count: configuration.workers)
        // Zeroed pages from calloc (an Atomic<UInt8> of 0 is a zero byte): a large `limit` costs
        // address space, not memory, until sensors raise alerts.
        raisedFlags = calloc(registry.limit, MemoryLayout<Atomic<UInt8>>.stride)!
            .bindMemory(to: Atomic<UInt8>.self, capacity: registry.limit)
    }

    deinit {
        drainedAlerts.deinitialize(count: configuration.workers)
        drainedAlerts.deallocate()
        free(raisedFlags)
        journaled.deinitialize(count: configuration.workers)
        journaled.deallocate()
        progress.deinitialize(count: configuration.workers)
        progress.deallocate()
    }

    /// Starts the worker threads.
    public func start() {
        precondition(threads.isEmpty, "Pipeline.start called twice")
        workersRunning.store(configuration.workers, ordering: .releasing)
        for w in 0..<configuration.workers {
            threads.append(StageThread(name: "vigil-worker\(w)") { [self] in self.runWorker(w) })
        }
    }

    // MARK: Ingest side

    /// Hands samples to their workers. Under `.block` it waits (spinning, then sleeping) until
    /// every sample is queued, and returns their count; under `.drop` it queues what fits, counts
    /// the rest as `queue_full` and returns how many were queued. Ingest thread only.
    @discardableResult
    public func submit(_ samples: UnsafeBufferPointer<Sample>) -> Int {
        guard !samples.isEmpty else { return 0 }
        let n = configuration.workers
        if shardOf.count < registry.count || registry.hasReused { classifyNewSensors() }
        var queued = 0
        if n == 1 {
            queued = enqueue(samples, worker: 0)
        } else {
            let first = Int(shardOf[Int(samples[0].sensor)])
            var uniform = true
            for s in samples where Int(shardOf[Int(s.sensor)]) != first { uniform = false; break }
            if uniform {
                queued = enqueue(samples, worker: first)
            } else {
                for k in 0..<n { staging[k].removeAll(keepingCapacity: true) }
                for s in samples { staging[Int(shardOf[Int(s.sensor)])].append(s) }
                for k in 0..<n where !staging[k].isEmpty {
                    queued += staging[k].withUnsafeBufferPointer { enqueue($0, worker: k) }
                }
            }
        }
        counters.add(0, UInt64(queued))
        return queued
    }

    /// Convenience for tests and offline tools.
    @discardableResult
    public func submit(_ samples: [Sample]) -> Int {
        samples.withUnsafeBufferPointer { submit($0) }
    }

    /// Assigns each sensor interned since the last call to a worker: its own (`index mod N`), or
    /// its asset's, so that an asset's members share one worker. Ingest thread only; runs once
    /// per new sensor.
    private func classifyNewSensors() {
        while shardOf.count < registry.count {
            classify(UInt32(shardOf.count))
        }
        // Indices the registry reused after an eviction carry another sensor now.
        registry.takeReused { classify($0) }
        // Asset indices interned by `classify` are classified by the loop too (they get their own
        // shard, and receive no samples unless a gateway names a sensor like the asset).
        while shardOf.count < registry.count {
            classify(UInt32(shardOf.count))
        }
    }

    /// Picks the worker of `index` and whether it may be evicted; appends when it is new.
    private func classify(_ index: UInt32) {
        let n = configuration.workers
        var shard = Int(index) % n
        var pin = assetIndices.contains(index)
        if let owner = relationOwner[index] {
            // A relation's residual: processed with its asset, never evicted.
            shard = Int(owner) % n
            pin = true
        } else if !pin, let assetOf, let assetName = assetOf(registry.name(of: index)), let asset = registry.intern(assetName) {
            if assetIndices.insert(asset).inserted {
                assetCount.add(0, 1)
                // Its relations' residuals get registry entries (classified next, with the asset).
                for definition in relationsOf?(assetName) ?? [] {
                    guard let r = registry.intern(assetName + "/" + definition.name) else { continue }
                    if relationOwner.updateValue(asset, forKey: r) == nil { assetCount.add(0, 1) }
                    assets.registerRelation(index: r, asset: asset, definition: definition)
                    if Int(r) < pinned.count {
                        pinned[Int(r)] = true
                        shardOf[Int(r)] = UInt16(Int(asset) % n)
                    }
                }
            }
            assets.register(sensor: index, asset: asset)
            shard = Int(asset) % n
            pin = true
            if Int(asset) < pinned.count { pinned[Int(asset)] = true }
        }
        if Int(index) == shardOf.count {
            shardOf.append(UInt16(shard))
            pinned.append(pin)
        } else {
            shardOf[Int(index)] = UInt16(shard)
            pinned[Int(index)] = pin
        }
    }

    private func enqueue(_ samples: UnsafeBufferPointer<Sample>, worker: Int) -> Int {
        let ring = inputs[worker]
        var done = ring.push(contentsOf: samples)
        defer { pushed[worker] &+= UInt64(done) }
        if done > 0 { inputBells[worker].ring() }
        if done == samples.count { return done }
        switch configuration.overflow {
        case .drop:
            drops.record(.queueFull, samples: samples.count - done)
            return done
        case .block:
            var backoff = Backoff(maximumSleepMicroseconds: 200)
            while done < samples.count {
                let pushed = ring.push(contentsOf: UnsafeBufferPointer(rebasing: samples[done...]))
                if pushed == 0 {
                    ingestHeartbeat.beat()
                    backoff.pause()
                } else {
                    done += pushed
                    inputBells[worker].ring()
                    backoff.reset()
                }
            }
            return done
        }
    }

    /// Tells the workers no more samples will come: each exits after processing its ring.
    /// Ingest thread only (or any thread once ingest has stopped).
    public func finishIngest() {
        ingestFinished.store(true, ordering: .releasing)
        for bell in inputBells { bell.ring() }
    }

    /// Waits for the workers to exit (after `finishIngest`).
    public func join() {
        for t in threads { t.join() }
        threads.removeAll()
    }

    /// True while any worker still runs (publisher uses it to know when the last alert is in).
    public var isRunning: Bool { workersRunning.load(ordering: .acquiring) > 0 }

    /// Sleeps until a worker emits an alert event, or `timeoutMilliseconds` pass; returns at once
    /// when one is already queued. For an idle publisher: it wakes for the next alert within
    /// microseconds instead of after its next sleep. Publisher thread only.
    public func waitForAlerts(timeoutMilliseconds: Int32) {
        alertBell.sleep(timeoutMilliseconds: timeoutMilliseconds) { outputs.contains { !$0.isEmpty } || !isRunning }
    }

    // MARK: Publisher side

    /// Moves up to `maximum` alert events per worker to `body`, oldest first per worker.
    /// Publisher thread only. Returns how many were drained.
    @discardableResult
    public func drainAlerts(maximum: Int = 256, _ body: (AlertEvent) -> Void) -> Int {
        var total = 0
        for (w, ring) in outputs.enumerated() {
            let n = ring.consume(maximum: maximum) { buf in
                for e in buf { body(e) }
            }
            drained[w] &+= UInt64(n)
            // After `body` has read what it needs of these events (their sensors' names): an
            // evicted sensor's registry slot is reused only once this count passed its events.
            if n > 0 { drainedAlerts[w].wrappingAdd(UInt64(n), ordering: .releasing) }
            total += n
        }
        return total
    }

    /// Records that every alert event drained so far is journaled, the last with `seq`. The
    /// publisher calls it after each committed batch; checkpoints wait on it. Publisher thread only.
    public func alertsJournaled(throughSeq seq: UInt64) {
        journaledSeqStorage.store(seq, ordering: .releasing)
        for w in 0..<configuration.workers { journaled[w].store(drained[w], ordering: .releasing) }
    }

    /// Alert events of worker `w` journaled so far (see `alertsJournaled(throughSeq:)`). Any thread.
    public func alertsJournaled(worker w: Int) -> UInt64 { journaled[w].load(ordering: .acquiring) }

    /// The `seq` of the last alert the publisher reported journaled. Any thread.
    public var journaledSeq: UInt64 { journaledSeqStorage.load(ordering: .acquiring) }

    /// Sets the journaled `seq` before the publisher starts (the journal's last, at start-up).
    public func setJournaledSeq(_ seq: UInt64) {
        precondition(threads.isEmpty, "Pipeline.setJournaledSeq is called before start()")
        journaledSeqStorage.store(seq, ordering: .releasing)
    }

    // MARK: Fences (acknowledge after processing)

    /// Takes a fence after everything submitted so far: `isPassed` turns true once every one of
    /// those samples is processed and every alert event the workers had emitted by then is
    /// journaled. A source that must acknowledge its input only after that (NATS JetStream) takes
    /// one after each submit and acknowledges once it is passed. Ingest thread only.
    public func fence() -> ProcessingFence {
        ProcessingFence(pushed: pushed, emitted: nil)
    }

    /// Whether `fence` is passed (see `fence()`); advances it from "processed" to "journaled".
    /// Never waits. Ingest thread only (the owner of the fence).
    public func isPassed(_ fence: inout ProcessingFence) -> Bool {
        if fence.emitted == nil {
            var emitted = [UInt64](repeating: 0, count: configuration.workers)
            for w in 0..<configuration.workers {
                // Acquire: the emitted count stored before this progress is then visible.
                guard progress[w].load(ordering: .acquiring) >= fence.pushed[w] else { return false }
                emitted[w] = counters[1 + configuration.workers + w]
            }
            fence.emitted = emitted
        }
        for w in 0..<configuration.workers where journaled[w].load(ordering: .acquiring) < fence.emitted![w] {
            return false
        }
        return true
    }

    // MARK: Eviction (ingest side)

    /// Whether `sensor` may be evicted: live, classified, not an asset or an asset's member, and
    /// without a raised alert (which would otherwise never clear). Ingest thread only.
    public func isEvictable(_ sensor: UInt32) -> Bool {
        Int(sensor) < pinned.count && !pinned[Int(sensor)] && registry.isLive(sensor)
            && raisedFlags[Int(sensor)].load(ordering: .relaxed) == 0
    }

    /// Starts evicting `sensor`: retires its id in the registry (so no later sample can carry its
    /// index) and tells its worker to free the sensor's detector state after the samples already
    /// queued for it. (Should those samples raise an alert, which takes a worker stalled for longer
    /// than the idle timeout, the alert goes with the state.) The slot is reused only after
    /// `reclaimRetired` saw the worker's answer and the publisher drained every alert event the
    /// worker emitted before it.
    ///
    /// Returns false (and does nothing) when the sensor is not evictable or its worker has
    /// `retireCapacity` retirements in flight. Ingest thread only, between `submit` calls: no
    /// sample of `sensor` may be waiting in the caller's hands. Nothing here or in the worker
    /// locks; the worker reads its command ring once per batch, not per sample.
    @discardableResult
    public func retire(_ sensor: UInt32) -> Bool {
        guard isEvictable(sensor) else { return false }
        let w = Int(shardOf[Int(sensor)])
        guard retiring[w] < Self.retireCapacity else { return false }
        registry.retire(sensor)
        let sent = retireCommands[w].push(RetireCommand(sensor: sensor, after: pushed[w]))
        precondition(sent, "retire command ring overflow")
        retiring[w] += 1
        return true
    }

    /// Releases the registry slot of every retired sensor whose worker has freed its state and
    /// whose alert events the publisher has all handled, calling `released` with each (before the
    /// slot can be reused). Returns how many were released. Ingest thread only.
    @discardableResult
    public func reclaimRetired(_ released: (UInt32) -> Void = { _ in }) -> Int {
        for w in 0..<configuration.workers {
            while let ack = retireAcks[w].pop() {
                retiring[w] -= 1
                quarantine.append((ack, w))
            }
        }
        guard !quarantine.isEmpty else { return 0 }
        var count = 0
        quarantine.removeAll { entry in
            guard drainedAlerts[entry.worker].load(ordering: .acquiring) >= entry.ack.alerts else { return false }
            registry.release(entry.ack.sensor)
            released(entry.ack.sensor)
            count += 1
            return true
        }
        if count > 0 { evictions.add(0, UInt64(count)) }
        return count
    }

    /// Retirements not yet released (sent to a worker, or waiting for the publisher). Ingest
    /// thread only.
    public var retirementsInFlight: Int { retiring.reduce(0, +) + quarantine.count }

    /// Live sensors: the registry's live entries less the assets' names (assets are never
    /// evicted); any thread (the `vigil_sensors` gauge).
    public var liveSensorCount: Int { max(0, registry.liveCount - Int(assetCount[0])) }

    /// Sensors evicted so far (their slots released); any thread.
    public var sensorsEvicted: UInt64 { evictions[0] }

    // MARK: Reload

    /// Replaces the settings resolvers (config reload). Each worker re-resolves its sensors and
    /// assets at its next batch; sensors and assets whose settings did not change keep their
    /// detector state.
    public func reload(settings: @escaping SettingsResolver, pcaSettings: PCASettingsResolver? = nil) {
        resolver.withLock { $0 = Resolvers(settings: settings, pca: pcaSettings) }
        settingsGeneration.wrappingAdd(1, ordering: .releasing)
    }

    // MARK: State across restarts

    /// The detector state of every sensor and asset, as `DetectorSnapshot` bytes. Call after
    /// `join()`: each worker hands its state to its slot as it exits, so nothing on the sample path
    /// locks or copies for this. Sensors (and assets) that a restore seeded but that received no
    /// sample since are included, so state survives several restarts in a row. (The daemon
    /// streams the same bytes to a file with `stoppedStateChunks`.)
    public func snapshot(coveredSeq: UInt64 = 0, journalSeq: UInt64 = 0) -> [UInt8] {
        var assembler = DetectorSnapshotAssembler()
        var out = assembler.header()
        var names = SnapshotNames()
        forEachStoppedStateChunk { chunk in
            names.add(chunk)
            let (prefix, suffix) = assembler.frame(chunk.kind, chunk.payload, records: chunk.records)
            out += prefix
            out += chunk.payload
            out += suffix
        }
        out += assembler.finish(names: names.all, coveredSeq: coveredSeq, journalSeq: journalSeq, createdAt: 0)
        return out
    }

    /// The state the workers handed over as they exited (or the seeds of a pipeline restored but
    /// never started), serialised worker by worker into section payloads of about
    /// `checkpointChunkBytes` and handed to `body` one at a time (so a writer can stream them).
    /// Call after `join()`.
    public func forEachStoppedStateChunk(_ body: (CheckpointChunk) throws -> Void) rethrows {
        for w in 0..<configuration.workers { try forEachStoppedStateChunk(worker: w, buffers: { nil }, body) }
    }

    /// The same for one worker's state only. After `join()`, and then from any thread: the
    /// workers' states are immutable from then on, so one thread per worker may serialise its own
    /// (a writer thread streams what they produce).
    ///
    /// - Parameter buffers: a written payload to write the next one into, if one is back (see
    ///   `checkpointBuffers`); nil allocates.
    public func forEachStoppedStateChunk(worker w: Int, buffers: () -> [UInt8]?, _ body: (CheckpointChunk) throws -> Void) rethrows {
        precondition(threads.isEmpty, "Pipeline.forEachStoppedStateChunk is called after join()")
        let slot = slots[w]
        let restoredOnly = slot.final.states.isEmpty && slot.final.assetDetectors.isEmpty && slot.final.relations.isEmpty  // restored, never started
        let chains = restoredOnly ? slot.seed.states : slot.final.states
        let assetDetectors = restoredOnly ? slot.seed.assetDetectors : slot.final.assetDetectors
        let relations = restoredOnly ? slot.seed.relations : slot.final.relations
        var fingerprints = FingerprintCache()
        func newBuilder() -> DetectorSnapshotFormat.SectionBuilder {
            if let buffer = buffers() { return .init(.sensors, reusing: buffer) }
            return .init(.sensors, reservingCapacity: checkpointChunkBytes + (64 << 10))
        }
        var builder = newBuilder()
        for k in chains.indices {
            appendRecord(chains[k], to: &builder, &fingerprints)
            if builder.byteCount >= checkpointChunkBytes {
                try body(CheckpointChunk(worker: w, kind: .sensors, records: builder.count, names: builder.names, orders: builder.orders, payload: builder.finish()))
                builder = newBuilder()
            }
        }
        if builder.count > 0 {
            try body(CheckpointChunk(worker: w, kind: .sensors, records: builder.count, names: builder.names, orders: builder.orders, payload: builder.finish()))
        }
        var assets = DetectorSnapshotFormat.SectionBuilder(.assets)
        for (asset, detector) in assetDetectors.sorted(by: { $0.key < $1.key }) { appendRecord(asset, detector, to: &assets) }
        for relation in relations { appendRecord(relation, to: &assets) }
        if assets.count > 0 {
            try body(CheckpointChunk(worker: w, kind: .assets, records: assets.count, names: assets.names, orders: assets.orders, payload: assets.finish()))
        }
    }

    /// Whether the workers were told to finish (shutdown began): a checkpoint in progress will
    /// not complete. Any thread.
    public var isFinishing: Bool { ingestFinished.load(ordering: .acquiring) }

    /// Number of sensor chains the last `snapshot()` would write (after `join()`).
    public var snapshotSensorCount: Int {
        slots.reduce(0) { $0 + ($1.final.states.isEmpty ? $1.seed.states.count : $1.final.states.count) }
    }

    /// Appends one chain as a sensor record (its settings' fingerprint from `fingerprints`: chains
    /// mostly share their settings, and a fingerprint costs a microsecond).
    func appendRecord(_ chain: SensorDetectors, to builder: inout DetectorSnapshotFormat.SectionBuilder,
                      _ fingerprints: inout FingerprintCache) {
        builder.appendSensor(name: registry.name(of: chain.sensor), fingerprint: fingerprints.of(chain.settings),
                             order: chain.sensor) { chain.write(to: &$0) }
    }

    /// Appends one asset detector as an asset record.
    func appendRecord(_ asset: UInt32, _ detector: AssetDetector, to builder: inout DetectorSnapshotFormat.SectionBuilder) {
        builder.appendAsset(name: registry.name(of: asset), fingerprint: DetectorSettings.fingerprint(of: detector.settings),
                            members: memberNames(of: asset)) { detector.write(to: &$0) }
    }

    /// Appends a relation's monitor as an asset record named after its residual (`<asset>/<relation>`),
    /// its members the sensors the expression names, its fingerprint the relation's.
    func appendRecord(_ relation: RelationMonitor, to builder: inout DetectorSnapshotFormat.SectionBuilder) {
        builder.appendAsset(name: registry.name(of: relation.index), fingerprint: relation.definition.fingerprint(settings: relation.chain.settings),
                            members: relation.sensorNames) { relation.write(to: &$0) }
    }

    private func memberNames(of asset: UInt32) -> [String] {
        (0..<assets.memberCount(of: asset)).compactMap { assets.member(of: asset, at: $0) }.map { registry.name(of: $0) }
    }

    /// Seeds the workers with the detector state in `bytes` (a whole snapshot file). See
    /// `restore(from:)`.
    @discardableResult
    public func restore(_ bytes: [UInt8]) throws(SnapshotError) -> RestoreSummary {
        var reader = try DetectorSnapshotReader(SnapshotBytes(bytes))
        return try restore(from: &reader)
    }

    /// Seeds the workers with the detector state `reader` yields, section by section (only one
    /// section's bytes are held at a time). Call before `start()`, at most once.
    ///
    /// The snapshot's names are interned first, in their original order, so sensors and assets get
    /// the indices (and asset members the positions) they had. `SensorRegistry` has a single writer,
    /// the ingest thread; before `start()` no ingest thread runs, so the caller of `restore` is that
    /// writer for the duration (the ingest thread, created later, sees the result through thread
    /// creation). Each sensor's chain then goes to the worker that shards it now (the worker count
    /// may differ from the run that wrote the snapshot), an asset's detector to its members' worker.
    /// A sensor whose current settings have another fingerprint than in the snapshot starts fresh,
    /// as does an asset whose settings or member list changed (counted in the summary).
    ///
    /// Throws `SnapshotError` when the bytes are not an intact snapshot of a readable version or a
    /// record does not fit its detectors; then no worker is seeded (the names may stay interned,
    /// which is harmless) and the pipeline starts fresh.
    @discardableResult
    public func restore(from reader: inout DetectorSnapshotReader) throws(SnapshotError) -> RestoreSummary {
        precondition(threads.isEmpty, "Pipeline.restore is called before start()")
        for name in reader.names { _ = registry.intern(name) }
        classifyNewSensors()
        let resolvers = resolver.withLock { $0 }
        let resolve = resolvers.settings
        var seeds = slots.map { _ in WorkerState() }
        var summary = RestoreSummary()
        var restored = Set<UInt32>()
        restored.reserveCapacity(reader.sensorRecordCount)
        for k in seeds.indices { seeds[k].states.reserveCapacity(reader.sensorRecordCount / seeds.count + 1) }
        // Settings are usually shared by many sensors: resolve each name once, but fingerprint
        // each distinct settings value once.
        var interner = DetectorSettingsInterner()
        var fingerprints: [(DetectorSettings, UInt64)] = []
        func fingerprint(_ settings: DetectorSettings) -> UInt64 {
            if let known = fingerprints.first(where: { $0.0 == settings }) { return known.1 }
            let f = settings.fingerprint
            if fingerprints.count < 64 { fingerprints.append((settings, f)) }
            return f
        }
        while let section = try reader.next() {
            switch section {
            case .sensors(let records):
                for var record in records {
                    guard let sensor = registry.index(of: record.name), restored.insert(sensor).inserted else {
                        if registry.index(of: record.name) != nil {
                            throw SnapshotError(.corrupt, offset: 0, "sensor \(record.name) appears twice")
                        }
                        summary.sensorsSkipped += 1  // the registry is full
                        continue
                    }
                    let settings = resolve(record.name)
                    guard fingerprint(settings) == record.fingerprint else {
                        summary.sensorsSkipped += 1
                        continue
                    }
                    let chain = try SensorDetectors(sensor: sensor, shared: interner.share(settings), restoringFrom: &record.state)
                    try record.state.expectEnd("sensor \(record.name)")
                    seeds[Int(shardOf[Int(sensor)])].states.append(chain)
                    summary.sensorsRestored += 1
                }
            case .assets(let records):
                for var record in records {
                    // A relation's monitor (named after its residual).
                    if let index = registry.index(of: record.name), let asset = assets.relationAsset(of: index) {
                        guard let definition = assets.relations(of: asset).first(where: { $0.index == index })?.definition else { continue }
                        let settings = resolve(record.name)
                        let assetName = registry.name(of: asset)
                        guard definition.fingerprint(settings: settings) == record.fingerprint,
                              record.members == definition.expression.sensors.map({ assetName + "/" + $0 }) else {
                            summary.assetsSkipped += 1
                            continue
                        }
                        let monitor = try RelationMonitor(index: index, asset: asset, assetName: assetName, definition: definition,
                                                          settings: settings, restoringFrom: &record.state)
                        try record.state.expectEnd("relation \(record.name)")
                        let worker = Int(shardOf[Int(index)])
                        guard !seeds[worker].relations.contains(where: { $0.index == index }) else {
                            throw SnapshotError(.corrupt, offset: 0, "relation \(record.name) appears twice")
                        }
                        seeds[worker].relations.append(monitor)
                        summary.assetsRestored += 1
                        continue
                    }
                    guard let asset = registry.index(of: record.name), let first = record.members.first,
                          let firstIndex = registry.index(of: first), memberNames(of: asset) == record.members else {
                        summary.assetsSkipped += 1
                        continue
                    }
                    let settings = AssetDetector.Settings(member: resolve(first), pca: resolvers.pca?(record.name))
                    guard !settings.isEmpty, DetectorSettings.fingerprint(of: settings) == record.fingerprint else {
                        summary.assetsSkipped += 1
                        continue
                    }
                    let detector = try AssetDetector(asset: asset, settings: settings, restoringFrom: &record.state)
                    try record.state.expectEnd("asset \(record.name)")
                    let worker = Int(shardOf[Int(firstIndex)])
                    guard seeds[worker].assetDetectors.updateValue(detector, forKey: asset) == nil else {
                        throw SnapshotError(.corrupt, offset: 0, "asset \(record.name) appears twice")
                    }
                    summary.assetsRestored += 1
                }
            }
        }
        for (slot, seed) in zip(slots, seeds) { slot.seed = seed }
        return summary
    }

    /// Brings the restored state in line with the journal, before `start()` and after `restore`.
    ///
    /// `latest` holds, for each alert state machine (sensor or asset name, and detector) that has
    /// events in the journal after the checkpoint's covered `seq`, the last such event. Each one
    /// is applied with `SensorDetectors.reconcile(with:)` (the rule is documented there and in
    /// ARCHITECTURE.md, "State across restarts"); a sensor the journal shows raised that the
    /// snapshot does not hold gets a fresh chain that holds the alert. An alert the journal shows
    /// raised that no chain or asset detector can take over is returned in `closed`, as a clear
    /// (`AlertEvidence.closed(reason: .restart)`) the publisher journals and publishes first.
    /// Single writer of the registry for the duration, as `restore`.
    public func reconcile(with latest: [JournaledAlert]) -> ReconcileSummary {
        precondition(threads.isEmpty, "Pipeline.reconcile is called before start()")
        var summary = ReconcileSummary()
        var seeds = slots.map(\.seed)
        var position: [UInt32: (worker: Int, index: Int)] = [:]
        for (w, seed) in seeds.enumerated() {
            for (k, chain) in seed.states.enumerated() { position[chain.sensor] = (w, k) }
        }
        let resolve = resolver.withLock { $0 }
        var interner = DetectorSettingsInterner()
        func close(_ j: JournaledAlert, _ sensor: UInt32?) {
            summary.closed.append(ClosedAlert(sensorName: j.sensor, event: AlertEvent(
                sensor: sensor ?? 0, detector: j.detector, event: .cleared, severity: j.severity, score: 0, threshold: 0,
                value: 0, timestamp: j.ts, raisedAt: j.raisedAt, evidence: .closed(reason: .restart))))
        }
        func count(_ r: AlertReconciliation, _ j: JournaledAlert, _ sensor: UInt32?) {
            switch r {
            case .unchanged: summary.unchanged += 1
            case .adopted: summary.adopted += 1
            case .cleared: summary.cleared += 1
            case .keptNewer: summary.keptNewer += 1
            case .unavailable: if j.event == .raised { close(j, sensor) } else { summary.unchanged += 1 }
            }
        }
        for j in latest {
            let index = registry.index(of: j.sensor)
            // A relation's residual alert: its monitor takes it over, or (none restored) it is closed.
            if let index, assets.relationAsset(of: index) != nil {
                if let w = seeds.firstIndex(where: { $0.relations.contains { $0.index == index } }),
                   let k = seeds[w].relations.firstIndex(where: { $0.index == index }) {
                    count(seeds[w].relations[k].reconcile(with: j), j, index)
                } else {
                    count(.unavailable, j, index)
                }
                continue
            }
            // An asset's own alert.
            if let index, let w = seeds.firstIndex(where: { $0.assetDetectors[index] != nil }) {
                count(seeds[w].assetDetectors[index]!.reconcile(with: j), j, index)
                continue
            }
            if let index, let at = position[index] {
                count(seeds[at.worker].states[at.index].reconcile(with: j), j, index)
                continue
            }
            // A relation's residual without restored state (no checkpoint): its monitor starts
            // afresh with its asset, so a raise is closed, never given a chain of its own.
            if isRelationName(j.sensor) {
                count(.unavailable, j, index)
                continue
            }
            // No restored state for it: nothing to do for a clear; a raise needs a chain to hold it.
            guard j.event == .raised else { summary.unchanged += 1; continue }
            guard let sensor = index ?? registry.intern(j.sensor) else { close(j, nil); continue }
            classifyNewSensors()
            var chain = SensorDetectors(sensor: sensor, shared: interner.share(resolve.settings(j.sensor)))
            let r = chain.reconcile(with: j)
            if r == .adopted {
                let w = Int(shardOf[Int(sensor)])
                position[sensor] = (w, seeds[w].states.count)
                seeds[w].states.append(chain)
                summary.freshChains += 1
            }
            count(r, j, sensor)
        }
        for (slot, seed) in zip(slots, seeds) { slot.seed = seed }
        return summary
    }

    /// Whether `name` is the residual of a configured relation (`<asset>/<relation>`).
    private func isRelationName(_ name: String) -> Bool {
        guard let relationsOf, let slash = name.lastIndex(of: "/") else { return false }
        let relation = name[name.index(after: slash)...]
        return relationsOf(String(name[..<slash])).contains { $0.name == relation }
    }

    // MARK: Statistics (any thread)

    /// Samples accepted by ingest so far.
    public var samplesSubmitted: UInt64 { counters[0] }
    /// Samples processed by the workers so far.
    public var samplesProcessed: UInt64 { (0..<configuration.workers).reduce(0) { $0 + counters[1 + $1] } }
    /// Alert events emitted by the workers so far.
    public var alertEventsEmitted: UInt64 {
        (0..<configuration.workers).reduce(0) { $0 + counters[1 + configuration.workers + $1] }
    }
    /// Queued samples per worker ring (estimates).
    public var ringOccupancy: [Int] { inputs.map(\.approximateCount) }
    /// Capacity of each worker ring.
    public var ringCapacity: Int { inputs[0].capacity }

    // MARK: Worker

    private func runWorker(_ w: Int) {
        let input = inputs[w]
        let output = outputs[w]
        let heartbeat = workerHeartbeats[w]
        let n = configuration.workers
        // The worker's sensors and assets (the same `DetectorShard` as `vigil eval`'s).
        var shard = DetectorShard(minimumAssetMembers: configuration.minimumAssetMembers, memberAlerts: configuration.memberAlerts)
        let assets = self.assets
        let memberCount: (UInt32) -> Int = { assets.memberCount(of: $0) }
        // Restored state (before the first sample; see `WorkerSlot`).
        let seed = slots[w].seed
        slots[w].seed = WorkerState()
        var resolvers = resolver.withLock { $0 }
        // Chains of equal settings share one copy of them.
        var interner = DetectorSettingsInterner()
        func assetModels(_ settings: DetectorSettings, _ m: AssetTable.Membership?) -> AssetDetector.Settings? {
            guard let m else { return nil }
            let s = AssetDetector.Settings(member: settings, pca: resolvers.pca?(registry.name(of: m.asset)))
            return s.isEmpty ? nil : s
        }
        // An asset's relations are created with its first member's chain (ingest registered them
        // before it pushed that member's first sample).
        func createRelations(of asset: UInt32) {
            let assetName = registry.name(of: asset)
            for (index, definition) in assets.relations(of: asset) where shard.relation(index: index) == nil {
                shard.addRelation(RelationMonitor(index: index, asset: asset, assetName: assetName, definition: definition,
                                                  settings: resolvers.settings(registry.name(of: index))),
                                  nameOf: { registry.name(of: $0) })
            }
        }
        func add(_ chain: SensorDetectors) {
            let m = assets.membership(of: chain.sensor)
            if let m, !shard.hasRelations(of: m.asset) { createRelations(of: m.asset) }
            shard.add(chain, membership: m, assetModels: assetModels(chain.settings, m),
                      name: m == nil ? nil : registry.name(of: chain.sensor))
        }
        for relation in seed.relations { shard.addRelation(relation, nameOf: { registry.name(of: $0) }) }
        for chain in seed.states {
            add(chain)
            if chain.isRaised { raisedFlags[Int(chain.sensor)].store(1, ordering: .relaxed) }
        }
        shard.adopt(seed.assetDetectors)
        var generation = settingsGeneration.load(ordering: .acquiring)
        var backoff = Backoff()
        var capture = Capture()
        var idle = 0
        let bell = inputBells[w]
        var processed: UInt64 = 0
        var emitted: UInt64 = 0
        // Alert events outside a batch (a reload's clears) carry no arrival time.
        let emit: (AlertEvent) -> Void = { event in
            self.hand(event, arrival: 0, to: output, heartbeat: heartbeat)
            emitted &+= 1
        }
        // Eviction: commands from ingest, applied between batches once every sample queued before
        // them is processed; each answered after the sensor's state is gone.
        let commands = retireCommands[w]
        let acks = retireAcks[w]
        var waiting: RetireCommand? = nil
        func applyRetirements() {
            // Not while a checkpoint is being captured: moving a chain behind the capture's
            // cursor would leave it out of the checkpoint.
            guard !capture.isActive else { return }
            while true {
                guard let command = waiting ?? commands.pop() else { return }
                guard command.after <= processed else { waiting = command; return }
                waiting = nil
                if shard.remove(sensor: command.sensor) {
                    raisedFlags[Int(command.sensor)].store(0, ordering: .relaxed)
                }
                // Ingest keeps at most `retireCapacity` in flight, so the answer ring has room.
                let answered = acks.push(RetireAck(sensor: command.sensor, alerts: emitted))
                precondition(answered, "retire answer ring overflow")
            }
        }
        while true {
            heartbeat.beat()
            let g = settingsGeneration.load(ordering: .acquiring)
            if g != generation {
                generation = g
                resolvers = resolver.withLock { $0 }
                for k in 0..<shard.count {
                    if k & 1023 == 1023 { heartbeat.beat() }  // re-resolving 100,000 sensors takes a while
                    let old = shard.chains[k]
                    let updated = resolvers.settings(registry.name(of: old.sensor))
                    let chain = updated != old.settings ? Self.replaced(old, with: interner.share(updated), emit: emit) : nil
                    // An asset whose models changed is rebuilt on its next round, without its
                    // alerts: each raised one is cleared (settings_changed).
                    if let d = shard.update(slot: k, chain: chain, assetModels: assetModels(updated, shard.membership(at: k))) {
                        for open in d.openAlerts {
                            emit(AlertEvent(sensor: d.asset, detector: open.detector, event: .cleared, severity: open.severity,
                                            score: 0, threshold: 0, value: 0, timestamp: open.raisedAt, raisedAt: open.raisedAt,
                                            evidence: .closed(reason: .settingsChanged)))
                        }
                    }
                }
            }
            let count = input.consume(maximum: 4096) { batch in
                // The variables this closure captures are boxed (the reload path's `emit`, a
                // closure value, captures `emitted`), so each access to them is checked at run
                // time: `run` takes them inout, checked once per run of known sensors rather
                // than per sample.
                var i = 0
                while true {
                    i = run(batch, from: i, shard: &shard, memberCount: memberCount, emitted: &emitted, output: output,
                            heartbeat: heartbeat)
                    guard i < batch.count else { break }
                    let sensor = batch[i].sensor
                    add(SensorDetectors(sensor: sensor, shared: interner.share(resolvers.settings(registry.name(of: sensor)))))
                }
            }
            if count > 0 {
                processed &+= UInt64(count)
                counters.set(1 + w, processed)
                counters.set(1 + n + w, emitted)
                progress[w].store(processed, ordering: .releasing)
                if waiting != nil || !commands.isEmpty { applyRetirements() }
            }
            // A checkpoint is captured between batches, a slice at a time.
            let captured = captureSlice(w, &capture, states: shard.chains, assetDetectors: shard.assetDetectors,
                                        relations: shard.relations, emitted: emitted)
            if count > 0 || captured {
                backoff.reset()
                idle = 0
                continue
            }
            if waiting != nil || !commands.isEmpty { applyRetirements() }
            if ingestFinished.load(ordering: .acquiring) && input.isEmpty { break }
            idle += 1
            if idle < 96 {
                backoff.pause()  // spin, then yield
            } else {
                // Idle: sleep until ingest pushes (or 1 ms, for a reload or a missed ring).
                bell.sleep(timeoutMilliseconds: 1) {
                    !input.isEmpty || ingestFinished.load(ordering: .acquiring) || settingsGeneration.load(ordering: .acquiring) != generation
                }
            }
        }
        capture = Capture()  // a capture in progress is dropped (see below)
        applyRetirements()
        counters.set(1 + w, processed)
        counters.set(1 + n + w, emitted)
        progress[w].store(processed, ordering: .releasing)
        // Hand the state over for `snapshot()` (read after `join()`). A capture in progress is
        // dropped: the stopped state is written whole after the join.
        slots[w].final = WorkerState(states: shard.chains, assetDetectors: shard.assetDetectors, relations: shard.relations)
        workersRunning.wrappingSubtract(1, ordering: .releasing)
        alertBell.ring()  // the publisher may be waiting for the last worker to finish
    }

    /// Runs `batch[start...]` through `shard` in order, up to the first sample whose sensor has
    /// no chain in it yet; returns that sample's index (`batch.count` when every sample ran).
    /// `emitted` counts the alert events handed to `output`.
    @inline(__always)
    private func run(_ batch: UnsafeMutableBufferPointer<Sample>, from start: Int, shard: inout DetectorShard,
                     memberCount: (UInt32) -> Int, emitted: inout UInt64, output: SPSCRing<AlertEvent>,
                     heartbeat: Heartbeat) -> Int {
        // The arrival stamp of the sample being processed: an alert it causes carries the full
        // arrival time (one clock read per alert, none per sample).
        var arrival: UInt32 = 0
        func emit(_ event: AlertEvent) {
            hand(event, arrival: arrival, to: output, heartbeat: heartbeat)
            emitted &+= 1
        }
        var i = start
        while i < batch.count {
            let sample = batch[i]
            guard let slot = shard.slot(of: sample.sensor) else { return i }
            arrival = sample.arrival
            let before = emitted
            shard.process(sample, slot: slot, memberCount: memberCount, emit: emit)
            if emitted != before {
                // An alert event changed the sensor's (or its asset's) state: ingest never
                // evicts a sensor with a raised alert.
                raisedFlags[Int(sample.sensor)].store(shard.chains[slot].isRaised ? 1 : 0, ordering: .relaxed)
            }
            i += 1
        }
        return i
    }

    /// Hands a worker's alert event to the publisher through the worker's `output` ring (waiting
    /// while it is full: backpressure) and rings the publisher's bell. `arrival` is the arrival
    /// stamp of the sample that caused it (0: none).
    private func hand(_ event: AlertEvent, arrival: UInt32, to output: SPSCRing<AlertEvent>, heartbeat: Heartbeat) {
        var event = event
        if let at = ArrivalStamp.nanoseconds(of: arrival, now: SystemTime.monotonicNanoseconds()) { event.ingestedAt = at }
        var b = Backoff(maximumSleepMicroseconds: 100)
        while !output.push(event) {
            heartbeat.beat()  // waiting on the publisher is backpressure, not a stall
            b.pause()
        }
        alertBell.ring()
    }

    /// A chain for new settings (a reload) that carries on the old chain's raised alerts where it
    /// has the same detector; an alert it cannot carry is cleared through `emit` with
    /// `AlertEvidence.closed(reason: .settingsChanged)`, so no raised alert is left without a
    /// clear. Worker thread, between batches.
    static func replaced(_ old: SensorDetectors, with settings: SharedDetectorSettings, emit: (AlertEvent) -> Void) -> SensorDetectors {
        var fresh = SensorDetectors(sensor: old.sensor, shared: settings)
        for open in old.openAlerts {
            let carried = JournaledAlert(seq: 0, id: "", event: .raised, severity: open.severity, sensor: "",
                                         detector: open.detector, ts: open.raisedAt, raisedAt: open.raisedAt)
            if fresh.reconcile(with: carried) == .unavailable {
                emit(AlertEvent(sensor: old.sensor, detector: open.detector, event: .cleared, severity: open.severity,
                                score: 0, threshold: 0, value: 0, timestamp: open.raisedAt, raisedAt: open.raisedAt,
                                evidence: .closed(reason: .settingsChanged)))
            }
        }
        return fresh
    }
}

/// `Pipeline` as a stage of the daemon: the worker threads. `requestStop` is `finishIngest`
/// (each worker exits once its ring is drained), so it must come after ingest has stopped.
extension Pipeline: Stage {
    public var name: String { "workers" }
    public func requestStop() { finishIngest() }
    public var heartbeats: [Heartbeat] { workerHeartbeats }
}
