// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The z-score (one variant), spectral residual and isolation forest detectors of one sensor's
/// chain, with the spectral features a `.spectral` forest reads: the detectors that are off in
/// the shipped configuration. `SensorDetectors` keeps this value in an array of zero or one
/// element, so a chain without them stores one word for them instead of their inline state
/// (about 700 bytes).
///
/// Threading: owned by the chain's worker thread; `update` allocates nothing (see the detectors).
struct ClassicDetectors: Sendable {
    // Stored as optionals and mutated in place (`x!.update`): copying a detector out of its
    // optional would copy its buffers.
    var rolling: ZScoreDetector?
    var ewma: EWMAZScoreDetector?
    var robust: RobustZScoreDetector?
    var spectral: SpectralResidualDetector?
    var forest: StreamingIsolationForest?
    // Spectral features for a `.spectral` isolation forest: the sensor's last values and a vector.
    var featureExtractor: SpectralFeatureExtractor?
    private var featureRing: [Double] = []
    private var featureNext = 0
    private var featureSeen = 0
    private var featureVector: [Double] = []

    /// The detectors `settings` turns on, or nil when it turns none of them on.
    init?(settings: DetectorSettings, synchronousTraining: Bool) {
        if let z = settings.zscore?.configuration {
            switch z.mode {
            case .rolling:
                rolling = ZScoreDetector(configuration: z)
            case .ewma:
                ewma = EWMAZScoreDetector(configuration: z)
            case .robust:
                robust = RobustZScoreDetector(configuration: z)
            }
        }
        spectral = settings.spectralResidual.map { SpectralResidualDetector(configuration: $0.configuration) }
        // An `.asset` forest belongs to the sensor's asset (`AssetDetector`), not to the sensor.
        if let f = settings.isolationForest?.configuration, f.features != .asset {
            if f.features == .spectral {
                let extractor = SpectralFeatureExtractor(windowLength: SensorDetectors.spectralFeatureWindow,
                                                         bands: SensorDetectors.spectralFeatureBands)
                featureExtractor = extractor
                featureRing = Array(repeating: 0, count: SensorDetectors.spectralFeatureWindow)
                featureVector = Array(repeating: 0, count: extractor.featureCount)
                forest = StreamingIsolationForest(configuration: f, dimension: extractor.featureCount,
                                                  synchronousTraining: synchronousTraining)
            } else {
                forest = StreamingIsolationForest(configuration: f, synchronousTraining: synchronousTraining)
            }
        }
        if !hasZScore && spectral == nil && forest == nil { return nil }
    }

    var hasZScore: Bool { rolling != nil || ewma != nil || robust != nil }

    /// The outputs of the z-score, spectral residual and isolation forest for one sample (nil for
    /// a detector that is off, warming up, or skipping the sample).
    @inline(__always)
    mutating func update(timestamp ts: Int64, value v: Double, learn: Bool)
        -> (zscore: DetectorOutput?, spectralResidual: DetectorOutput?, isolationForest: DetectorOutput?) {
        var z: DetectorOutput?
        if rolling != nil {
            z = rolling!.update(timestamp: ts, value: v, learn: learn)
        } else if ewma != nil {
            z = ewma!.update(timestamp: ts, value: v, learn: learn)
        } else if robust != nil {
            z = robust!.update(timestamp: ts, value: v, learn: learn)
        }
        let s = spectral != nil ? spectral!.update(timestamp: ts, value: v, learn: learn) : nil
        let f = forest != nil ? updateForest(ts, v, learn: learn) : nil
        return (z, s, f)
    }

    private mutating func updateForest(_ ts: Int64, _ v: Double, learn: Bool) -> DetectorOutput? {
        guard featureExtractor != nil else { return forest!.update(timestamp: ts, value: v, learn: learn) }
        // Without `learn` the window is the ring's newest values and `v`, and the ring is restored.
        let slot = featureNext
        let replaced = featureRing[slot]
        featureRing[slot] = v
        featureNext = (featureNext + 1) % featureRing.count
        if learn { featureSeen += 1 }
        defer {
            if !learn {
                featureNext = slot
                featureRing[slot] = replaced
            }
        }
        guard featureSeen >= featureRing.count else { return nil }
        let oldest = featureNext
        featureRing.withUnsafeBufferPointer { ring in
            featureVector.withUnsafeMutableBufferPointer { out in
                let f = featureExtractor!.compute(ring: ring, oldest: oldest, bandEnergies: UnsafeMutableBufferPointer(rebasing: out[3...]))
                out[0] = f.rms
                out[1] = f.dominantFrequency
                out[2] = f.centroid
            }
        }
        return featureVector.withUnsafeBufferPointer { forest!.update(timestamp: ts, vector: $0, learn: learn) }
    }

    /// Heap bytes of the feature arrays (the detectors' own buffers are not counted).
    var featureHeapBytes: Int {
        func heap<T>(_ a: [T]) -> Int { a.capacity == 0 ? 0 : 32 + a.capacity * MemoryLayout<T>.stride }
        return heap(featureRing) + heap(featureVector)
    }

    // MARK: Snapshot

    func write(to w: inout SnapshotWriter) {
        rolling?.write(to: &w)
        ewma?.write(to: &w)
        robust?.write(to: &w)
        spectral?.write(to: &w)
        forest?.write(to: &w)
        if featureExtractor != nil {
            w.write(featureNext)
            w.write(featureSeen)
            w.write(featureRing)
        }
    }

    mutating func restore(from reader: inout SnapshotReader) throws(SnapshotError) {
        try rolling?.restore(from: &reader)
        try ewma?.restore(from: &reader)
        try robust?.restore(from: &reader)
        try spectral?.restore(from: &reader)
        try forest?.restore(from: &reader)
        if featureExtractor != nil {
            let n = featureRing.count
            let next = try reader.readInt("feature ring next", in: 0...(n - 1))
            let seen = try reader.readInt("feature ring seen", in: 0...SnapshotReader.maxCounter)
            let ring = try reader.readDoubles("feature ring", count: n)
            featureNext = next
            featureSeen = seen
            featureRing = ring
        }
    }
}
