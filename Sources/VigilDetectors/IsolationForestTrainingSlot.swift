// SPDX-License-Identifier: GPL-3.0-or-later
import Dispatch
import Synchronization
import VigilCore

/// A forest published by a training run, with what the detector needs to adopt it.
struct PublishedIsolationForest: Sendable {
    /// The new model.
    let forest: IsolationForest
    /// Fraction of its own training vectors the model scores at or above the anomalous score.
    let trainingAnomalyRate: Double
    /// Publication number of this slot, from 1.
    let generation: UInt64
}

/// One background-mode `StreamingIsolationForest`'s link to its `IsolationForestTrainer`.
///
/// Hand-over protocol (single producer, the detector's worker; single consumer, the trainer):
/// - `state` 0 (idle): the worker owns `buffer`. It fills it, then stores 1 with release ordering
///   and signals the Dispatch source.
/// - `state` 1 (submitted): the trainer owns `buffer`. A run claims the job by exchanging 1 for 2
///   (acquire; so even concurrent runs would train it once), trains, stores the result under
///   `published`'s mutex, bumps `generation` (release) and stores 0 (release) once it no longer
///   reads the buffer.
/// - The worker polls `generation` (acquire, one load per vector) and takes the result with
///   `Mutex.withLockIfAvailable`: when the trainer holds the lock at that instant the worker simply
///   tries again on the next vector, so it never waits.
///
/// Freeing: when the trainer publishes forest *n* it keeps *n − 1* as `retired`, so the worker's
/// switch from *n − 1* to *n* never drops the last reference. After adopting, the worker records
/// the generation it adopted and signals the source once more (`acknowledgeAdoption`); a run that
/// finds no job then clears `retired` if the worker has adopted the latest forest, freeing *n − 1*
/// on the trainer's queue, never on the worker's hot path. (Otherwise the next publication, which
/// the worker can only request after adopting *n*, frees it.)
/// In steady state a detector holds one forest, shared by the worker and `published`.
///
/// `@unchecked Sendable`: `buffer`, `bufferCount` and `trainingIndex` are plain memory whose
/// ownership moves between the two threads through `state` as above; everything else is atomic
/// or behind the mutex (the worker only ever try-locks it; the trainer locks it briefly and frees
/// forests outside it).
final class IsolationForestTrainingSlot: @unchecked Sendable {
    let configuration: IsolationForestConfiguration
    let dimension: Int
    let anomalousScore: Double
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<Double>
    private var bufferCount = 0
    private var trainingIndex: UInt64 = 0
    private let state = Atomic<Int>(0)
    private let generation = Atomic<UInt64>(0)
    private let adopted = Atomic<UInt64>(0)
    private let published = Lock<Publication>(Publication())
    private let source: any DispatchSourceUserDataAdd

    init(configuration: IsolationForestConfiguration, dimension: Int, anomalousScore: Double,
         trainer: IsolationForestTrainer) {
        self.configuration = configuration
        self.dimension = dimension
        self.anomalousScore = anomalousScore
        capacity = configuration.trainingWindow
        buffer = .allocate(capacity: capacity * dimension)
        buffer.initialize(repeating: 0, count: capacity * dimension)
        source = DispatchSource.makeUserDataAddSource(queue: trainer.queue)
        source.setEventHandler { [weak self] in self?.run() }
        source.activate()
    }

    deinit {
        source.cancel()
        buffer.deallocate()
    }

    /// Worker: whether a run is submitted and not finished.
    var isBusy: Bool { state.load(ordering: .acquiring) != 0 }

    /// Worker: when the slot is idle, lets `fill` write up to `capacity` vectors into the buffer
    /// (returning how many it wrote) and submits run number `index`. Returns false, doing nothing,
    /// when the previous run still owns the buffer. No allocation, no lock.
    @inline(__always)
    func submit(index: UInt64, fill: (UnsafeMutablePointer<Double>) -> Int) -> Bool {
        guard state.load(ordering: .acquiring) == 0 else { return false }
        let n = fill(buffer)
        precondition(n >= 2 && n <= capacity)
        bufferCount = n
        trainingIndex = index
        state.store(1, ordering: .releasing)
        source.add(data: 1)
        return true
    }

    /// What the mutex guards: the latest forest and the one it replaced.
    struct Publication: Sendable {
        var latest: PublishedIsolationForest?
        var retired: IsolationForest?
    }

    /// Worker: the latest published forest when it is newer than `current` and the mutex is free
    /// right now; nil otherwise. Never waits (a try-lock, taken only when a new forest exists).
    @inline(__always)
    func take(newerThan current: UInt64) -> PublishedIsolationForest? {
        guard generation.load(ordering: .acquiring) != current else { return nil }
        return published.withLockIfAvailable { $0.latest } ?? nil
    }

    /// Worker: tells the trainer that the latest forest was adopted, so the one before it can be
    /// freed on the trainer's queue. No allocation, no lock.
    @inline(__always)
    func acknowledgeAdoption(generation adoptedGeneration: UInt64) {
        adopted.store(adoptedGeneration, ordering: .releasing)
        source.add(data: 1)
    }

    /// Trainer: one run, on the trainer's queue: a training run when one is submitted, otherwise
    /// (an adoption acknowledgement) the release of the retired forest.
    private func run() {
        guard state.compareExchange(expected: 1, desired: 2, ordering: .acquiring).exchanged else {
            let current = adopted.load(ordering: .acquiring)
            let freed = published.withLock { p -> IsolationForest? in
                guard let latest = p.latest, latest.generation == current else { return nil }
                defer { p.retired = nil }
                return p.retired
            }
            _ = freed  // released here, outside the lock
            return
        }
        let (forest, rate) = Self.train(UnsafeBufferPointer(start: buffer, count: bufferCount * dimension),
                                        dimension: dimension, configuration: configuration,
                                        index: trainingIndex, anomalousScore: anomalousScore)
        let g = generation.load(ordering: .relaxed) + 1
        let freed = published.withLock { p -> IsolationForest? in
            let older = p.retired  // the worker has adopted its successor before submitting this run
            p.retired = p.latest?.forest
            p.latest = PublishedIsolationForest(forest: forest, trainingAnomalyRate: rate, generation: g)
            return older
        }
        _ = freed  // released here, outside the lock
        generation.store(g, ordering: .releasing)
        state.store(0, ordering: .releasing)
    }

    /// Trains run number `index` on `vectors` (row-major) and measures the new forest's anomaly
    /// rate on them. The same function serves the background and the synchronous modes, so both
    /// build identical forests from identical windows.
    static func train(_ vectors: UnsafeBufferPointer<Double>, dimension: Int,
                      configuration: IsolationForestConfiguration, index: UInt64,
                      anomalousScore: Double) -> (IsolationForest, Double) {
        let forest = IsolationForest(training: vectors, dimension: dimension, trees: configuration.trees,
                                     sampleSize: configuration.sampleSize, extended: configuration.extended,
                                     seed: Xoshiro256StarStar.derivedSeed(configuration.seed, stream: index))
        let n = vectors.count / dimension
        var anomalous = 0
        let base = vectors.baseAddress!
        for i in 0..<n where forest.anomalyScore(UnsafeBufferPointer(start: base + i * dimension, count: dimension)) >= anomalousScore {
            anomalous += 1
        }
        return (forest, Double(anomalous) / Double(n))
    }
}
