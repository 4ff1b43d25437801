// SPDX-License-Identifier: GPL-3.0-or-later
import RingBuffer
import Synchronization
import VigilCore
import VigilDetectors
#if canImport(Glibc)
import Glibc
#endif

/// What ingest does when a worker's ring is full.
public enum OverflowPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    /// Stop reading until the worker catches up: ZeroMQ's high-water mark then pushes back on
    /// PULL senders, and nothing is lost (the default).
    case block
    /// Drop what does not fit and count it as `queue_full`.
    case drop
}

/// Shape of the pipeline.
public struct PipelineConfiguration: Sendable, Equatable {
    /// Worker threads, each owning the detector state of its sensors.
    public var workers: Int
    /// Samples each worker's input ring holds (rounded up to a power of two).
    public var ringCapacity: Int
    public var overflow: OverflowPolicy
    /// Alert events each worker's output ring holds.
    public var alertRingCapacity: Int

    public init(workers: Int = PipelineConfiguration.defaultWorkers, ringCapacity: Int = 65_536,
                overflow: OverflowPolicy = .block, alertRingCapacity: Int = 16_384) {
        precondition(workers >= 1 && ringCapacity >= 1 && alertRingCapacity >= 1)
        self.workers = workers
        self.ringCapacity = ringCapacity
        self.overflow = overflow
        self.alertRingCapacity = alertRingCapacity
    }

    /// Cores − 1, at least 1: one core is left to the ingest thread.
    public static var defaultWorkers: Int {
        #if canImport(Glibc)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        let cores = 2
        #endif
        return max(1, cores - 1)
    }
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
}

/// One worker's hand-over box. `seed` is written before `start()` and read (then emptied) by the
/// worker as it starts; `final` is written by the worker as it exits and read after `join()`.
/// Thread creation and `join` order these accesses, so no lock is needed and the worker never
/// touches the box between its first and last sample.
final class WorkerSlot: @unchecked Sendable {
    var seed = WorkerState()
    var final = WorkerState()
}

/// Resolves a sensor's detector settings from its name (the config's defaults and overrides).
public typealias SettingsResolver = @Sendable (String) -> DetectorSettings

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
/// `drainAlerts` by exactly one publisher thread; `reload` and the statistics by any thread.
/// Samples of one sensor are processed in arrival order by one worker; its alert events reach
/// the publisher in order.
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

    private let resolver: Lock<SettingsResolver>
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
    public let assets = AssetTable()
    /// Registry indices that are assets (ingest thread only).
    private var assetIndices: Set<UInt32> = []
    /// Per-worker state hand-over for `restore` and `snapshot` (see `WorkerSlot`).
    private let slots: [WorkerSlot]

    /// - Parameter assetOf: the asset of a sensor name; an asset's sensors are processed by one
    ///   worker, which also runs the asset's multivariate detector (`AssetDetector`).
    public init(configuration: PipelineConfiguration, registry: SensorRegistry, drops: DropCounters,
                settings: @escaping SettingsResolver, assetOf: (@Sendable (String) -> String?)? = nil) {
        self.assetOf = assetOf
        self.configuration = configuration
        self.registry = registry
        self.drops = drops
        inputs = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: configuration.ringCapacity) }
        outputs = (0..<configuration.workers).map { _ in SPSCRing(minimumCapacity: configuration.alertRingCapacity) }
        inputBells = (0..<configuration.workers).map { _ in Doorbell() }
        resolver = Lock(settings)
        slots = (0..<configuration.workers).map { _ in WorkerSlot() }
        counters = AtomicCounters(count: 1 + 2 * configuration.workers)
        staging = (0..<configuration.workers).map { _ in
            var a: [Sample] = []
            a.reserveCapacity(1024)
            return a
        }
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
        if shardOf.count < registry.count { classifyNewSensors() }
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
        let n = configuration.workers
        while shardOf.count < registry.count {
            let index = UInt32(shardOf.count)
            var shard = Int(index) % n
            if let assetOf, !assetIndices.contains(index), let assetName = assetOf(registry.name(of: index)),
               let asset = registry.intern(assetName) {
                assetIndices.insert(asset)
                assets.register(sensor: index, asset: asset)
                shard = Int(asset) % n
            }
            shardOf.append(UInt16(shard))
        }
        // Asset indices interned above are classified by the loop too (they get their own shard,
        // and receive no samples unless a gateway names a sensor like the asset).
    }

    private func enqueue(_ samples: UnsafeBufferPointer<Sample>, worker: Int) -> Int {
        let ring = inputs[worker]
        var done = ring.push(contentsOf: samples)
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
        for ring in outputs {
            total += ring.consume(maximum: maximum) { buf in
                for e in buf { body(e) }
            }
        }
        return total
    }

    // MARK: Reload

    /// Replaces the settings resolver (config reload). Each worker re-resolves its sensors at
    /// its next batch; sensors whose settings did not change keep their detector state.
    public func reload(settings: @escaping SettingsResolver) {
        resolver.withLock { $0 = settings }
        settingsGeneration.wrappingAdd(1, ordering: .releasing)
    }

    // MARK: State across restarts

    /// The detector state of every sensor and asset, as `DetectorSnapshot` bytes. Call after
    /// `join()`: each worker hands its state to its slot as it exits, so nothing on the sample path
    /// locks or copies for this. Sensors (and assets) that a restore seeded but that received no
    /// sample since are included, so state survives several restarts in a row.
    public func snapshot() -> [UInt8] {
        precondition(threads.isEmpty, "Pipeline.snapshot is called after join()")
        var snapshot = DetectorSnapshot(names: registry.allNames)
        var chains: [SensorDetectors] = []
        var assetDetectors: [(UInt32, AssetDetector)] = []
        for slot in slots {
            chains.append(contentsOf: slot.final.states)
            assetDetectors.append(contentsOf: slot.final.assetDetectors.map { ($0.key, $0.value) })
            if slot.final.states.isEmpty && slot.final.assetDetectors.isEmpty {
                // A pipeline restored but never started still holds its seeds.
                chains.append(contentsOf: slot.seed.states)
                assetDetectors.append(contentsOf: slot.seed.assetDetectors.map { ($0.key, $0.value) })
            }
        }
        chains.sort { $0.sensor < $1.sensor }
        assetDetectors.sort { $0.0 < $1.0 }
        for chain in chains {
            var w = SnapshotWriter()
            chain.write(to: &w)
            snapshot.sensors.append(.init(name: registry.name(of: chain.sensor), fingerprint: chain.settings.fingerprint, state: w.bytes))
        }
        for (asset, detector) in assetDetectors {
            var w = SnapshotWriter()
            detector.write(to: &w)
            snapshot.assets.append(.init(name: registry.name(of: asset), fingerprint: DetectorSettings.fingerprint(of: detector.settings),
                                         members: memberNames(of: asset), state: w.bytes))
        }
        return snapshot.encoded()
    }

    /// Number of sensor chains the last `snapshot()` would write (after `join()`).
    public var snapshotSensorCount: Int {
        slots.reduce(0) { $0 + ($1.final.states.isEmpty ? $1.seed.states.count : $1.final.states.count) }
    }

    private func memberNames(of asset: UInt32) -> [String] {
        (0..<assets.memberCount(of: asset)).compactMap { assets.member(of: asset, at: $0) }.map { registry.name(of: $0) }
    }

    /// Seeds the workers with the detector state in `bytes` (from `snapshot()`). Call before
    /// `start()`, at most once.
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
    /// Throws `SnapshotError` when the bytes are not an intact snapshot of this version or a record
    /// does not fit its detectors; then no worker is seeded (the names may stay interned, which is
    /// harmless) and the pipeline starts fresh.
    @discardableResult
    public func restore(_ bytes: [UInt8]) throws(SnapshotError) -> RestoreSummary {
        precondition(threads.isEmpty, "Pipeline.restore is called before start()")
        let snapshot = try DetectorSnapshot(decoding: bytes)
        for name in snapshot.names { _ = registry.intern(name) }
        classifyNewSensors()
        let resolve = resolver.withLock { $0 }
        var seeds = slots.map { _ in WorkerState() }
        var summary = RestoreSummary()
        var restored = Set<UInt32>()
        for record in snapshot.sensors {
            guard let sensor = registry.index(of: record.name), restored.insert(sensor).inserted else {
                if registry.index(of: record.name) != nil {
                    throw SnapshotError(.corrupt, offset: 0, "sensor \(record.name) appears twice")
                }
                summary.sensorsSkipped += 1  // the registry is full
                continue
            }
            let settings = resolve(record.name)
            guard settings.fingerprint == record.fingerprint else {
                summary.sensorsSkipped += 1
                continue
            }
            var reader = SnapshotReader(record.state)
            let chain = try SensorDetectors(sensor: sensor, settings: settings, restoringFrom: &reader)
            try reader.expectEnd("sensor \(record.name)")
            seeds[Int(shardOf[Int(sensor)])].states.append(chain)
            summary.sensorsRestored += 1
        }
        for record in snapshot.assets {
            guard let asset = registry.index(of: record.name), let first = record.members.first,
                  let firstIndex = registry.index(of: first), memberNames(of: asset) == record.members,
                  let section = resolve(first).isolationForest, section.configuration.features == .asset,
                  DetectorSettings.fingerprint(of: section) == record.fingerprint else {
                summary.assetsSkipped += 1
                continue
            }
            var reader = SnapshotReader(record.state)
            let detector = try AssetDetector(asset: asset, settings: section, restoringFrom: &reader)
            try reader.expectEnd("asset \(record.name)")
            let worker = Int(shardOf[Int(firstIndex)])
            guard seeds[worker].assetDetectors.updateValue(detector, forKey: asset) == nil else {
                throw SnapshotError(.corrupt, offset: 0, "asset \(record.name) appears twice")
            }
            summary.assetsRestored += 1
        }
        for (slot, seed) in zip(slots, seeds) { slot.seed = seed }
        return summary
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

    /// CLOCK_MONOTONIC in nanoseconds.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    private func runWorker(_ w: Int) {
        let input = inputs[w]
        let output = outputs[w]
        let n = configuration.workers
        // Per-sensor state, by a worker-local slot (slotOf maps the global sensor index).
        var slotOf: [Int32] = []
        var states: [SensorDetectors] = []
        var memberships: [AssetTable.Membership?] = []
        var assetDetectors: [UInt32: AssetDetector] = [:]
        // Restored state (before the first sample; see `WorkerSlot`).
        let seed = slots[w].seed
        slots[w].seed = WorkerState()
        for chain in seed.states {
            let sensor = Int(chain.sensor)
            if sensor >= slotOf.count { slotOf.append(contentsOf: repeatElement(-1, count: sensor + 1 - slotOf.count)) }
            slotOf[sensor] = Int32(states.count)
            states.append(chain)
            memberships.append(assets.membership(of: chain.sensor))
        }
        assetDetectors = seed.assetDetectors
        var generation = settingsGeneration.load(ordering: .acquiring)
        var resolve = resolver.withLock { $0 }
        var backoff = Backoff()
        var idle = 0
        let bell = inputBells[w]
        var processed: UInt64 = 0
        var emitted: UInt64 = 0
        // The arrival stamp of the sample being processed: an alert it causes carries the full
        // arrival time (one clock read per alert, none per sample).
        var arrival: UInt32 = 0
        let emit: (AlertEvent) -> Void = { event in
            var event = event
            if let at = ArrivalStamp.nanoseconds(of: arrival, now: Self.monotonicNanoseconds()) { event.ingestedAt = at }
            var b = Backoff(maximumSleepMicroseconds: 100)
            while !output.push(event) { b.pause() }
            self.alertBell.ring()
            emitted &+= 1
        }
        while true {
            let g = settingsGeneration.load(ordering: .acquiring)
            if g != generation {
                generation = g
                resolve = resolver.withLock { $0 }
                for k in states.indices {
                    let updated = resolve(registry.name(of: states[k].sensor))
                    if updated != states[k].settings {
                        states[k] = SensorDetectors(sensor: states[k].sensor, settings: updated)
                        if let m = memberships[k] { assetDetectors[m.asset] = nil }  // rebuilt on its next round
                    }
                }
            }
            let count = input.consume(maximum: 4096) { batch in
                var i = 0
                while i < batch.count {
                    // A sensor new to this worker gets its chain here (rare). The run of samples
                    // up to the next new sensor is processed through one mutable buffer of
                    // `states`: no uniqueness check (a runtime call) per sample.
                    let first = batch[i]
                    let sensor = Int(first.sensor)
                    if sensor >= slotOf.count {
                        slotOf.append(contentsOf: repeatElement(-1, count: sensor + 1 - slotOf.count))
                    }
                    if slotOf[sensor] < 0 {
                        slotOf[sensor] = Int32(states.count)
                        states.append(SensorDetectors(sensor: first.sensor, settings: resolve(registry.name(of: first.sensor))))
                        memberships.append(assets.membership(of: first.sensor))
                    }
                    i = states.withUnsafeMutableBufferPointer { chains in
                        var k = i
                        while k < batch.count {
                            let sample = batch[k]
                            let sensor = Int(sample.sensor)
                            guard sensor < slotOf.count else { break }
                            let slot = Int(slotOf[sensor])
                            guard slot >= 0 else { break }
                            arrival = sample.arrival
                            chains[slot].process(sample, emit: emit)
                            if let m = memberships[slot] {
                                if assetDetectors[m.asset] == nil,
                                   let section = chains[slot].settings.isolationForest, section.configuration.features == .asset {
                                    assetDetectors[m.asset] = AssetDetector(asset: m.asset, settings: section,
                                                                            dimension: assets.memberCount(of: m.asset))
                                }
                                if assetDetectors[m.asset] != nil {
                                    assetDetectors[m.asset]!.update(position: m.position, timestamp: sample.timestamp,
                                                                    value: sample.value, score: { _ in }, emit: emit)
                                }
                            }
                            k += 1
                        }
                        return k
                    }
                }
            }
            if count > 0 {
                processed &+= UInt64(count)
                counters.set(1 + w, processed)
                counters.set(1 + n + w, emitted)
                backoff.reset()
                idle = 0
                continue
            }
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
        counters.set(1 + w, processed)
        counters.set(1 + n + w, emitted)
        // Hand the state over for `snapshot()` (read after `join()`).
        slots[w].final = WorkerState(states: states, assetDetectors: assetDetectors)
        workersRunning.wrappingSubtract(1, ordering: .releasing)
        alertBell.ring()  // the publisher may be waiting for the last worker to finish
    }
}
