// SPDX-License-Identifier: GPL-3.0-or-later
import Dispatch
import Synchronization

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
/// - `state` 1 (submitted): the trainer owns `buffer`. Its run loads 1 with acquire ordering,
///   trains, stores the result under `published`'s mutex, bumps `generation` (release) and stores
///   0 (release) once it no longer reads the buffer.
/// - The worker polls `generation` (acquire, one load per vector) and takes the result with
///   `Mutex.withLockIfAvailable`: when the trainer holds the lock at that instant the worker simply
///   tries again on the next vector, so it never waits.
///
/// Freeing: the trainer keeps the forest it published before the latest one in `retired`. The
/// worker adopts forest *n* (dropping *n − 1*) before it can submit the run that publishes *n + 1*,
/// so when that run replaces `retired` the trainer drops the last reference to *n − 1*: forests are
/// freed on the trainer's queue, never on the worker's hot path.
///
/// `@unchecked Sendable`: `buffer`, `bufferCount` and `trainingIndex` are plain memory whose
/// ownership moves between the two threads through `state` as above; `retired` is touched by the
/// trainer's runs only, which never overlap (a Dispatch source's handler is serialised).
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
    private let published = Mutex<PublishedIsolationForest?>(nil)
    private var retired: IsolationForest?
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

    /// Worker: the latest published forest when it is newer than `current` and the mutex is free
    /// right now; nil otherwise. Never waits.
    @inline(__always)
    func take(newerThan current: UInt64) -> PublishedIsolationForest? {
        guard generation.load(ordering: .acquiring) != current else { return nil }
        return published.withLockIfAvailable { $0 } ?? nil
    }

    /// Trainer: one run, on the trainer's queue.
    private func run() {
        guard state.load(ordering: .acquiring) == 1 else { return }
        let (forest, rate) = Self.train(UnsafeBufferPointer(start: buffer, count: bufferCount * dimension),
                                        dimension: dimension, configuration: configuration,
                                        index: trainingIndex, anomalousScore: anomalousScore)
        let g = generation.load(ordering: .relaxed) + 1
        let replaced = published.withLock { slot -> IsolationForest? in
            let previous = slot?.forest
            slot = PublishedIsolationForest(forest: forest, trainingAnomalyRate: rate, generation: g)
            return previous
        }
        retired = replaced  // drops the forest before it, which the worker no longer holds
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
