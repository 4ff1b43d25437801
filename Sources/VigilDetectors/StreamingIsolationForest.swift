// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Streaming isolation forest (`DetectorKind.isolationForest`), in the manner of iForestASD (Ding &
/// Fei, IFAC 2013): score each new feature vector with the current forest, keep the last
/// `trainingWindow` vectors, and build a new forest from that window every `retrainEvery` vectors,
/// or earlier when the window's anomaly rate drifts from the rate at the last training by more than
/// `driftThreshold`.
///
/// Feature vectors (`IsolationFeatures`):
/// - `.shingle`: `update(timestamp:value:)` forms the vector of the sensor's last `shingle` values,
///   oldest first (feature `shingle − 1` is the newest value).
/// - `.asset`, `.spectral`: the caller supplies each vector through `update(timestamp:vector:)`
///   (the latest value of every sensor of the asset, or spectral features computed elsewhere);
///   `update(timestamp:value:)` then returns nil.
///
/// Output: the forest score `s` in (0, 1] and `.isolationForest(pathLength:feature:featureCount:)`.
/// Each vector is scored *before* it joins the window. Nil until the first forest is in place
/// (warm-up): the first training is requested once `retrainEvery` vectors have been seen.
///
/// Anomaly rate: the fraction of vectors scored since the current forest was adopted (at most the
/// last `trainingWindow`) whose score is at least `anomalousScore` (0.5 by default, the paper's
/// boundary); it is compared with the same fraction over the forest's own training window, once at
/// least `driftEvidence` vectors have been scored, and never while a training run is outstanding.
///
/// Training modes:
/// - background (`synchronousTraining: false`, what `vigild` uses): the window is copied into the
///   detector's preallocated training slot and built on `trainer`'s queue; the new forest is picked
///   up, without waiting, on a later vector. Scores then depend on when training finishes.
/// - synchronous (`synchronousTraining: true`, for `vigil eval` and tests): the forest is built
///   inline at the same points, so the same input gives the same scores bit for bit.
/// Training run *k* of a detector uses the seed derived from `configuration.seed` and *k* in both
/// modes, so a background forest equals the synchronous one trained on the same window.
///
/// Threading: owned by one worker thread, like every `StreamingDetector`. In background mode
/// `update` neither allocates nor locks (an atomic load per vector; a `memcpy` of the window and a
/// Dispatch source signal per training request; a try-lock when a new forest is ready), and
/// replaced forests are freed on the trainer's queue. In
/// synchronous mode a training step allocates the new forest on the calling thread. Copies of a
/// background-mode detector share its training slot: update only one of them.
public struct StreamingIsolationForest: StreamingDetector {
    /// `.isolationForest`.
    public var kind: DetectorKind { .isolationForest }
    /// The settings this detector was built from.
    public let configuration: IsolationForestConfiguration
    /// Dimension of the feature vectors.
    public let dimension: Int
    /// Whether forests are trained inline (deterministic) rather than on the trainer's queue.
    public let isSynchronous: Bool
    /// Score at or above which a vector counts as anomalous for the drift test.
    public let anomalousScore: Double
    /// Scored vectors needed before the drift test applies.
    public let driftEvidence: Int

    private var shingleValues: [Double]
    private var shingleNext = 0
    private var shingleCount = 0
    private var vector: [Double]
    private var featureCounts: [Int32]
    private var window: [Double]
    private var windowNext = 0
    /// Vectors in the training window.
    public private(set) var windowCount = 0
    private var flags: [Bool]
    private var flagsNext = 0
    private var flagsCount = 0
    private var flagsAnomalous = 0
    private var sinceTraining = 0
    /// Training runs requested so far.
    public private(set) var trainingRequests: UInt64 = 0
    /// Whether a background run was submitted and its forest not yet adopted.
    public private(set) var isAwaitingForest = false
    private var forest: IsolationForest?
    /// Number of forests adopted so far (0 during warm-up).
    public private(set) var forestGeneration: UInt64 = 0
    /// Anomaly rate of the current forest on its own training window.
    public private(set) var trainingAnomalyRate = 0.0
    private var slotGeneration: UInt64 = 0
    private let slot: IsolationForestTrainingSlot?
    private var trainingBuffer: [Double]

    /// A detector with an empty window.
    ///
    /// - Parameters:
    ///   - configuration: forest and streaming settings.
    ///   - dimension: vector dimension for `.asset` and `.spectral`; ignored for `.shingle`
    ///     (whose dimension is `configuration.shingle`).
    ///   - synchronousTraining: train inline (deterministic, for evaluation) instead of in background.
    ///   - trainer: the background trainer (unused in synchronous mode).
    ///   - anomalousScore: score counted as anomalous by the drift test.
    ///   - driftEvidence: scored vectors needed before the drift test applies (default
    ///     `min(trainingWindow, 128)`).
    public init(configuration: IsolationForestConfiguration = .init(), dimension: Int? = nil,
                synchronousTraining: Bool = false, trainer: IsolationForestTrainer = .shared,
                anomalousScore: Double = 0.5, driftEvidence: Int? = nil) {
        let d = configuration.features == .shingle ? configuration.shingle : (dimension ?? 0)
        precondition(d >= 1, "the feature vector needs a dimension of at least 1")
        precondition(configuration.trees >= 1 && configuration.sampleSize >= 2)
        precondition(configuration.trainingWindow >= 2, "the training window needs at least two vectors")
        precondition(configuration.retrainEvery >= 1)
        precondition(configuration.driftThreshold > 0, "driftThreshold must be positive")
        self.configuration = configuration
        self.dimension = d
        isSynchronous = synchronousTraining
        self.anomalousScore = anomalousScore
        self.driftEvidence = max(1, driftEvidence ?? min(configuration.trainingWindow, 128))
        shingleValues = Array(repeating: 0, count: configuration.features == .shingle ? d : 0)
        vector = Array(repeating: 0, count: d)
        featureCounts = Array(repeating: 0, count: d)
        window = Array(repeating: 0, count: configuration.trainingWindow * d)
        flags = Array(repeating: false, count: configuration.trainingWindow)
        if synchronousTraining {
            slot = nil
            trainingBuffer = Array(repeating: 0, count: configuration.trainingWindow * d)
        } else {
            slot = IsolationForestTrainingSlot(configuration: configuration, dimension: d,
                                               anomalousScore: anomalousScore, trainer: trainer)
            trainingBuffer = []
        }
    }

    /// Whether a background training run of this detector is queued or running (always false in
    /// synchronous mode). For tests, tools and metrics.
    public var isTrainingInProgress: Bool { slot?.isBusy ?? false }

    /// The forest currently scoring, if any.
    public var model: IsolationForest? { forest }

    /// Feeds one sample. For `.shingle` it forms the vector of the last `shingle` values (nil until
    /// there are that many); for the other features it returns nil (use `update(timestamp:vector:)`).
    /// Without `learn` the vector is the shingle's newest `shingle − 1` values and `value`, scored
    /// without changing the shingle, the training window or the drift statistics.
    /// Non-finite values are ignored (nil).
    public mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput? {
        guard configuration.features == .shingle, value.isFinite else { return nil }
        let d = dimension
        guard learn else {
            guard shingleCount == d else { return nil }
            // Oldest first, skipping the oldest (at `shingleNext`): the ring after it, then `value`.
            var k = 0
            var i = shingleNext + 1 == d ? 0 : shingleNext + 1
            while k < d - 1 {
                vector[k] = shingleValues[i]
                k += 1
                i = i + 1 == d ? 0 : i + 1
            }
            vector[d - 1] = value
            return process(learn: false)
        }
        shingleValues[shingleNext] = value
        shingleNext += 1
        if shingleNext == d { shingleNext = 0 }
        if shingleCount < d {
            shingleCount += 1
            if shingleCount < d { return nil }
        }
        // Oldest first: the ring from `shingleNext` on, then its start.
        var k = 0
        for i in shingleNext..<d {
            vector[k] = shingleValues[i]
            k += 1
        }
        for i in 0..<shingleNext {
            vector[k] = shingleValues[i]
            k += 1
        }
        return process(learn: true)
    }

    /// Feeds one caller-supplied feature vector of `dimension` values (for `.asset` and
    /// `.spectral`, or any feature set); without `learn` it is scored only (the training window
    /// and drift statistics do not change). A vector with a non-finite value is ignored (nil).
    public mutating func update(timestamp: Int64, vector input: UnsafeBufferPointer<Double>, learn: Bool = true) -> DetectorOutput? {
        precondition(input.count == dimension, "feature vector of the wrong dimension")
        for k in 0..<dimension {
            let x = input[k]
            guard x.isFinite else { return nil }
            vector[k] = x
        }
        return process(learn: learn)
    }

    /// Scores `vector` and, when `learn`, slides it into the window and asks for training when due.
    private mutating func process(learn: Bool) -> DetectorOutput? {
        if let slot, let published = slot.take(newerThan: slotGeneration) {
            slotGeneration = published.generation
            adopt(published.forest, trainingAnomalyRate: published.trainingAnomalyRate)
            slot.acknowledgeAdoption(generation: published.generation)
        }
        var output: DetectorOutput?
        if let forest {
            let s = vector.withUnsafeBufferPointer { v in
                featureCounts.withUnsafeMutableBufferPointer { c in forest.score(v, featureCounts: c) }
            }
            output = DetectorOutput(score: s.score, evidence: .isolationForest(
                pathLength: s.pathLength, feature: s.feature, featureCount: Int32(truncatingIfNeeded: dimension)))
            if learn { record(anomalous: s.score >= anomalousScore) }
        }
        guard learn else { return output }
        appendToWindow()
        sinceTraining += 1
        if !isAwaitingForest && windowCount >= 2 && (sinceTraining >= configuration.retrainEvery || hasDrifted) {
            requestTraining()
        }
        return output
    }

    /// Whether the anomaly rate since the current forest was adopted has drifted from its rate at
    /// training.
    public var hasDrifted: Bool {
        guard forest != nil, flagsCount >= driftEvidence else { return false }
        let rate = Double(flagsAnomalous) / Double(flagsCount)
        return abs(rate - trainingAnomalyRate) > configuration.driftThreshold
    }

    private mutating func record(anomalous: Bool) {
        if flagsCount == flags.count {
            if flags[flagsNext] { flagsAnomalous -= 1 }
        } else {
            flagsCount += 1
        }
        flags[flagsNext] = anomalous
        if anomalous { flagsAnomalous += 1 }
        flagsNext += 1
        if flagsNext == flags.count { flagsNext = 0 }
    }

    private mutating func appendToWindow() {
        let d = dimension
        let base = windowNext * d
        for k in 0..<d { window[base + k] = vector[k] }
        windowNext += 1
        if windowNext == configuration.trainingWindow { windowNext = 0 }
        if windowCount < configuration.trainingWindow { windowCount += 1 }
    }

    /// Copies the window, oldest vector first, to `destination`; returns the number of vectors.
    private func copyWindow(to destination: UnsafeMutablePointer<Double>) -> Int {
        let d = dimension
        window.withUnsafeBufferPointer { w in
            let src = w.baseAddress!
            if windowCount < configuration.trainingWindow {
                destination.update(from: src, count: windowCount * d)
            } else {
                let tail = (configuration.trainingWindow - windowNext) * d
                destination.update(from: src + windowNext * d, count: tail)
                (destination + tail).update(from: src, count: windowNext * d)
            }
        }
        return windowCount
    }

    private mutating func requestTraining() {
        let index = trainingRequests
        if let slot {
            let submitted = slot.submit(index: index) { copyWindow(to: $0) }
            guard submitted else { return }  // the previous run still owns the buffer: retry later
            trainingRequests += 1
            sinceTraining = 0
            isAwaitingForest = true
        } else {
            var buffer = trainingBuffer
            trainingBuffer = []
            let n = buffer.withUnsafeMutableBufferPointer { copyWindow(to: $0.baseAddress!) }
            let (forest, rate) = buffer.withUnsafeBufferPointer {
                IsolationForestTrainingSlot.train(UnsafeBufferPointer(rebasing: $0[0..<(n * dimension)]),
                                                  dimension: dimension, configuration: configuration,
                                                  index: index, anomalousScore: anomalousScore)
            }
            trainingBuffer = buffer
            trainingRequests += 1
            sinceTraining = 0
            adopt(forest, trainingAnomalyRate: rate)
        }
    }

    private mutating func adopt(_ newForest: IsolationForest, trainingAnomalyRate rate: Double) {
        forest = newForest
        forestGeneration += 1
        trainingAnomalyRate = rate
        isAwaitingForest = false
        flagsNext = 0
        flagsCount = 0
        flagsAnomalous = 0
    }

    // MARK: Snapshot

    /// Writes the training window (vectors and position), the shingle ring and the counters for
    /// `restore(from:)`. The forest itself is not written: it is rebuilt from the window.
    public func write(to w: inout SnapshotWriter) {
        w.write(dimension)
        w.write(shingleNext)
        w.write(shingleCount)
        w.write(shingleValues)
        w.write(windowNext)
        w.write(windowCount)
        w.write(window)
        w.write(sinceTraining)
        w.write(trainingRequests)
        w.write(forestGeneration)
        w.write(forest != nil || isAwaitingForest)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration and dimension.
    ///
    /// The forest is *rebuilt, not copied*: when the original had a forest (or was waiting for
    /// one), a forest is trained once, synchronously on the calling thread, from the restored
    /// window with the seed of the last training run. Its trees therefore differ from the
    /// original's (which was trained on an older window), so scores after a restart are close to,
    /// not bit-identical with, an uninterrupted run; the window, the shingle and the retraining
    /// schedule continue exactly. The drift statistics restart with the rebuilt forest. In
    /// background mode, the first background forest adopted afterwards releases the rebuilt one on
    /// the worker thread (once per sensor and restart).
    ///
    /// Call before the detector is used (start-up). Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let d = dimension
        let n = configuration.trainingWindow
        let storedDimension = try r.readInt("forest dimension")
        guard storedDimension == d else { throw r.corrupt("forest dimension \(storedDimension), expected \(d)") }
        let shingleSize = configuration.features == .shingle ? d : 0
        let shingleNext = try r.readInt("forest shingle next", in: 0...max(0, shingleSize - 1))
        let shingleCount = try r.readInt("forest shingle count", in: 0...shingleSize)
        let shingleValues = try r.readDoubles("forest shingle", count: shingleSize)
        let windowNext = try r.readInt("forest window next", in: 0...(n - 1))
        let windowCount = try r.readInt("forest window count", in: 0...n)
        let window = try r.readDoubles("forest window", count: n * d)
        let sinceTraining = try r.readInt("forest vectors since training", in: 0...SnapshotReader.maxCounter)
        let trainingRequests = try r.readUInt64("forest training runs")
        let generation = try r.readUInt64("forest generation")
        let hadForest = try r.readBool("forest present")
        guard windowCount == n || windowNext == windowCount else {
            throw r.corrupt("forest window position \(windowNext) with \(windowCount) vectors")
        }
        guard window.allSatisfy(\.isFinite), shingleValues.allSatisfy(\.isFinite) else {
            throw r.corrupt("forest window holds a non-finite value")
        }
        self.shingleNext = shingleNext
        self.shingleCount = shingleCount
        self.shingleValues = shingleValues
        self.windowNext = windowNext
        self.windowCount = windowCount
        self.window = window
        self.sinceTraining = sinceTraining
        self.trainingRequests = trainingRequests
        forest = nil
        isAwaitingForest = false
        forestGeneration = 0
        trainingAnomalyRate = 0
        flagsNext = 0
        flagsCount = 0
        flagsAnomalous = 0
        guard hadForest, windowCount >= 2 else { return }
        var buffer = [Double](repeating: 0, count: windowCount * d)
        let count = buffer.withUnsafeMutableBufferPointer { copyWindow(to: $0.baseAddress!) }
        let (rebuilt, rate) = buffer.withUnsafeBufferPointer {
            IsolationForestTrainingSlot.train(UnsafeBufferPointer(rebasing: $0[0..<(count * d)]),
                                              dimension: d, configuration: configuration,
                                              index: trainingRequests > 0 ? trainingRequests - 1 : 0,
                                              anomalousScore: anomalousScore)
        }
        adopt(rebuilt, trainingAnomalyRate: rate)
        forestGeneration = max(generation, 1)
    }
}

