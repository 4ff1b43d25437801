// SPDX-License-Identifier: GPL-3.0-or-later
import RingBuffer
import Synchronization
import VigilCore
import VigilDetectors
#if canImport(Glibc)
import Glibc
#endif

/// One piece of a checkpoint: a sensors or assets section payload a worker serialised from its
/// own state, on its way to the checkpointer through that worker's chunk ring.
/// The names section of a snapshot, gathered from its chunks: the names of the records it holds
/// (never every name the registry has: an evicted sensor's slot may be reused while a checkpoint
/// runs, and junk never interned has no place in it), each asset's members first, in member
/// order, so that re-interning them on restore gives each member its position again; then the
/// sensors in registry-index order, so that their indices come back where nothing was evicted.
public struct SnapshotNames: Sendable {
    private var assetNames: [String] = []
    private var sensorNames: [(order: UInt32, name: String)] = []

    public init() {}

    /// Takes the names of `chunk`'s records.
    public mutating func add(_ chunk: CheckpointChunk) {
        if chunk.kind == .assets {
            assetNames += chunk.names
        } else {
            for (k, name) in chunk.names.enumerated() { sensorNames.append((k < chunk.orders.count ? chunk.orders[k] : .max, name)) }
        }
    }

    /// Every name once: the assets' members and names, then the sensors.
    public var all: [String] {
        var seen = Set<String>()
        let sensors = sensorNames.sorted { $0.order < $1.order }.map(\.name)
        return (assetNames + sensors).filter { seen.insert($0).inserted }
    }
}

public struct CheckpointChunk: Sendable {
    /// The worker that captured it.
    public var worker: Int
    /// The checkpoint generation it belongs to (0 for the stopped state).
    public var generation: UInt64 = 0
    public var kind: DetectorSnapshotFormat.SectionKind
    /// Records in `payload`.
    public var records: Int
    /// The names its records need on restore and the order of each (`SectionBuilder.names` and
    /// `orders`; see `SnapshotNames`).
    public var names: [String] = []
    public var orders: [UInt32] = []
    /// The section payload (`DetectorSnapshotFormat.SectionBuilder`).
    public var payload: [UInt8]
    /// Whether this is the worker's last chunk of the generation. The last chunk carries the
    /// worker's capture statistics and how many alert events it had emitted when it finished.
    public var isLast = false
    /// Alert events the worker had emitted when it finished capturing (last chunk only): the
    /// checkpoint may be committed once that many of its events are journaled.
    public var alertsEmitted: UInt64 = 0
    /// The longest single pause the capture cost the worker's sample loop, in nanoseconds of
    /// wall time (what the worker's ring waited; preemption by other processes included).
    public var longestPause: UInt64 = 0
    /// The processor time of that slice, in nanoseconds (the capture's own cost).
    public var longestPauseCPU: UInt64 = 0
    /// All pauses of the capture together, in nanoseconds.
    public var totalPause: UInt64 = 0
    /// How many slices the capture took.
    public var slices = 0

    /// A chunk of `records` records of `kind` in `payload`, captured by `worker`.
    public init(worker: Int, generation: UInt64 = 0, kind: DetectorSnapshotFormat.SectionKind, records: Int,
                names: [String] = [], orders: [UInt32] = [], payload: [UInt8]) {
        self.worker = worker
        self.generation = generation
        self.kind = kind
        self.records = records
        self.names = names
        self.orders = orders
        self.payload = payload
    }
}

/// What `Pipeline.reconcile(with:)` did.
public struct ReconcileSummary: Sendable {
    /// Machines that already agreed with the journal.
    public var unchanged = 0
    /// Alerts raised in the journal after the checkpoint that a chain now holds (and will clear).
    public var adopted = 0
    /// Alerts the checkpoint held raised that the journal shows cleared: marked cleared.
    public var cleared = 0
    /// Newer raised alerts the checkpoint holds and the journal lacks (journal behind): kept.
    public var keptNewer = 0
    /// Sensors the snapshot did not hold that got a fresh chain to carry a raised alert.
    public var freshChains = 0
    /// Raised alerts no restored detector can take over: to be journaled and published as clears.
    public var closed: [ClosedAlert] = []

    /// Nothing done yet.
    public init() {}
}

/// A clear the daemon makes itself (`AlertEvidence.closed`), with the sensor's name (which may
/// not be in the registry when the registry is full).
public struct ClosedAlert: Sendable, Equatable {
    public var sensorName: String
    public var event: AlertEvent

    /// The clear `event` of the alert of sensor (or asset) `sensorName`.
    public init(sensorName: String, event: AlertEvent) {
        self.sensorName = sensorName
        self.event = event
    }
}

/// A checkpoint the workers were asked to capture.
public struct CheckpointRequest: Sendable, Equatable {
    /// Its generation (the chunks carry it).
    public var generation: UInt64
    /// The journaled `seq` when it was requested: every alert up to it was emitted, and so is
    /// reflected in the state, before any worker captured (`DetectorSnapshot.coveredSeq`).
    public var coveredSeq: UInt64
}

extension Pipeline {
    // MARK: Checkpointer side (one checkpoint thread)

    /// Asks every worker to capture its state, between batches, into chunks (`nextCheckpointChunk`).
    /// One checkpoint at a time; a new request supersedes one in progress. Checkpoint thread only.
    public func requestCheckpoint() -> CheckpointRequest {
        let covered = journaledSeq
        let generation = checkpointRequested.load(ordering: .relaxed) &+ 1
        checkpointRequested.store(generation, ordering: .releasing)
        return CheckpointRequest(generation: generation, coveredSeq: covered)
    }

    /// Tells the workers to stop capturing `generation` (the checkpointer gave up on it); chunks
    /// of it still queued are dropped by the next `nextCheckpointChunk` calls.
    public func cancelCheckpoint(_ generation: UInt64) {
        checkpointCancelled.store(generation, ordering: .releasing)
    }

    /// The next chunk worker `w` captured, if any. Checkpoint thread only (the consumer of the
    /// chunk rings).
    public func nextCheckpointChunk(worker w: Int) -> CheckpointChunk? {
        checkpointChunks[w].pop()
    }

    /// Hands a written chunk's payload back to worker `w`, which writes a later chunk into it
    /// (dropped when the worker has enough). Checkpoint thread only.
    public func recycleCheckpointBuffer(_ payload: [UInt8], worker w: Int) {
        _ = checkpointBuffers[w].push(payload)
    }

    // MARK: Worker side

    /// A worker's capture in progress (worker-local).
    struct Capture {
        /// The generation being captured, 0 when none.
        var generation: UInt64 = 0
        /// The last generation finished or abandoned.
        var done: UInt64 = 0
        /// Next chain to serialise.
        var cursor = 0
        var builder = DetectorSnapshotFormat.SectionBuilder(.sensors)
        var fingerprints = FingerprintCache()
        /// A chunk the ring had no room for, pushed first next time.
        var pending: CheckpointChunk?
        var longest: UInt64 = 0
        var longestCPU: UInt64 = 0
        var total: UInt64 = 0
        var slices = 0

        var isActive: Bool { generation != 0 }
    }

    /// Serialises the next slice of the worker's state when a checkpoint is requested: chains
    /// from `capture.cursor` until the slice has run `checkpointSliceNanoseconds` or filled a
    /// chunk, then back to the samples. Called by worker `w` between batches, never inside one;
    /// returns whether it did any work. No lock: the request is an atomic load, chunks leave
    /// through the worker's own SPSC ring, and a full ring just defers the rest.
    func captureSlice(_ w: Int, _ capture: inout Capture, states: [SensorDetectors],
                      assetDetectors: [UInt32: AssetDetector], relations: [RelationMonitor], emitted: UInt64) -> Bool {
        let requested = checkpointRequested.load(ordering: .acquiring)
        if !capture.isActive {
            guard requested != capture.done else { return false }
            capture = Capture(generation: requested, done: capture.done)
        } else if requested != capture.generation || checkpointCancelled.load(ordering: .acquiring) == capture.generation {
            capture = Capture(done: capture.generation)  // superseded or given up: drop it
            return false
        }
        let ring = checkpointChunks[w]
        if let pending = capture.pending {
            guard ring.push(pending) else { return false }
            capture.pending = nil
            if pending.isLast {
                capture = Capture(done: capture.generation)
                return true
            }
        }
        let started = SystemTime.monotonicNanoseconds()
        let startedCPU = SystemTime.threadCPUNanoseconds()
        var now = started
        let end = states.count
        while capture.cursor < end, capture.builder.byteCount < checkpointChunkBytes {
            appendRecord(states[capture.cursor], to: &capture.builder, &capture.fingerprints)
            capture.cursor += 1
            if capture.cursor & 15 == 0 {
                now = SystemTime.monotonicNanoseconds()
                if now &- started >= checkpointSliceNanoseconds { break }
            }
        }
        var chunk: CheckpointChunk?
        if capture.builder.byteCount >= checkpointChunkBytes || (capture.cursor >= end && capture.builder.count > 0) {
            chunk = CheckpointChunk(worker: w, generation: capture.generation, kind: .sensors,
                                    records: capture.builder.count, names: capture.builder.names, orders: capture.builder.orders, payload: capture.builder.finish())
            if let buffer = checkpointBuffers[w].pop() { capture.builder = .init(.sensors, reusing: buffer) }
        } else if capture.cursor >= end {
            // Every chain is out: the asset detectors close the worker's part.
            var assets = DetectorSnapshotFormat.SectionBuilder(.assets)
            for (asset, detector) in assetDetectors.sorted(by: { $0.key < $1.key }) { appendRecord(asset, detector, to: &assets) }
            for relation in relations { appendRecord(relation, to: &assets) }
            var last = CheckpointChunk(worker: w, generation: capture.generation, kind: .assets, records: assets.count, names: assets.names, orders: assets.orders, payload: assets.finish())
            last.isLast = true
            last.alertsEmitted = emitted
            chunk = last
        }
        now = SystemTime.monotonicNanoseconds()
        let pause = now &- started
        if pause > capture.longest {
            capture.longest = pause
            capture.longestCPU = SystemTime.threadCPUNanoseconds() &- startedCPU
        }
        capture.total &+= pause
        capture.slices += 1
        if var chunk {
            if chunk.isLast {
                chunk.longestPause = capture.longest
                chunk.longestPauseCPU = capture.longestCPU
                chunk.totalPause = capture.total
                chunk.slices = capture.slices
            }
            if ring.push(chunk) {
                if chunk.isLast { capture = Capture(done: capture.generation) }
            } else {
                capture.pending = chunk
            }
        }
        return true
    }
}
