// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// One detector's settings together with the alert policy applied to its scores.
public struct DetectorSection<Configuration: Sendable & Equatable>: Sendable, Equatable {
    public var configuration: Configuration
    public var alerts: AlertPolicy

    public init(_ configuration: Configuration, alerts: AlertPolicy) {
        self.configuration = configuration
        self.alerts = alerts
    }
}

/// How the calibrated scores of a sensor's detectors are combined into one alert stream.
public struct CombineSettings: Sendable, Equatable, Codable {
    public var rule: CombineRule
    /// Weights per detector for `.weighted` (missing detectors weigh 1).
    public var weights: [DetectorKind: Double]

    public init(rule: CombineRule = .max, weights: [DetectorKind: Double] = [:]) {
        self.rule = rule
        self.weights = weights
    }
}

extension DetectorSettings {
    /// The shipped combination: the max of the calibrated probabilities, raising at 1 − 1e-7 and
    /// critical at 1 − 1e-8 (chosen on the NAB corpus without per-file tuning).
    public static let defaultCombine: DetectorSection<CombineSettings>? = .init(
        CombineSettings(rule: .max, weights: [.zscore: 1, .spectralResidual: 1, .isolationForest: 1]),
        alerts: AlertPolicy(threshold: 0.9999999, criticalThreshold: 0.99999999))
}

/// The detectors and alert policies that apply to one sensor, resolved from the config
/// (defaults, then every matching per-sensor override in order). A nil section is off.
public struct DetectorSettings: Sendable, Equatable {
    public var zscore: DetectorSection<ZScoreSettings>?
    public var spectralResidual: DetectorSection<SpectralResidualConfiguration>?
    public var isolationForest: DetectorSection<IsolationForestConfiguration>?
    /// Raw score → probability; used by `combine` and by detectors whose policy is on
    /// calibrated scores.
    public var calibration: CalibrationConfiguration
    /// When set, alerts come from the combined calibrated score (detector `combined`) with this
    /// section's policy; otherwise each enabled detector alerts on its own.
    public var combine: DetectorSection<CombineSettings>?

    public init(zscore: DetectorSection<ZScoreSettings>? = .init(ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                spectralResidual: DetectorSection<SpectralResidualConfiguration>? = nil,
                isolationForest: DetectorSection<IsolationForestConfiguration>? = nil,
                calibration: CalibrationConfiguration = .init(),
                combine: DetectorSection<CombineSettings>? = DetectorSettings.defaultCombine) {
        self.zscore = zscore
        self.spectralResidual = spectralResidual
        self.isolationForest = isolationForest
        self.calibration = calibration
        self.combine = combine
    }
}

/// Every detector of one sensor with its alert state: the exact per-sample code path that both
/// `vigild`'s workers and `vigil eval` run.
///
/// Per sample: each enabled detector (one z-score variant, spectral residual, isolation forest)
/// scores it. Without `combine`, each detector's raw score drives its own `AlertStateMachine`
/// (thresholds in that detector's scale). With `combine`, each raw score is first calibrated to
/// an anomaly probability (`ScoreCalibrator`, one per detector), the probabilities are combined
/// (`ScoreCombiner`: max or weighted), and one state machine alerts on the combined probability
/// as detector `combined`, with the strongest detector's evidence as its context.
///
/// Threading: owned by one worker thread. `process` allocates nothing (the isolation forest's
/// background training copies into preallocated buffers; see `StreamingIsolationForest`).
public struct SensorDetectors: Sendable {
    public let sensor: UInt32
    public let settings: DetectorSettings

    // Detectors: at most one z-score variant. Stored as optionals and mutated in place
    // (`x!.update`) — copying a detector out of its optional would copy its buffers.
    private var rolling: ZScoreDetector?
    private var ewma: EWMAZScoreDetector?
    private var robust: RobustZScoreDetector?
    private var spectral: SpectralResidualDetector?
    private var forest: StreamingIsolationForest?
    // Spectral features for a `.spectral` isolation forest: the sensor's last values and a vector.
    private var featureExtractor: SpectralFeatureExtractor?
    private var featureRing: [Double] = []
    private var featureNext = 0
    private var featureSeen = 0
    private var featureVector: [Double] = []

    // Alert state per detector (indexed by `slot`) and for the combination.
    private var states: [AlertStateMachine]
    private var calibrators: [ScoreCalibrator]
    private let combiner: ScoreCombiner?
    private var combinedState: AlertStateMachine?
    // Per detector, the evidence of its highest raw score within the calibrator's short window:
    // the calibrated probability averages that window, so a combined alert is explained by the
    // sample that made it, not by whichever sample completed the raise.
    private var evidence: [AlertEvidence] = [.none, .none, .none]
    private var peakScore: [Double] = [-.infinity, -.infinity, -.infinity]
    private var peakAge: [Int] = [0, 0, 0]

    /// Length of the window a `.spectral` isolation forest takes its features from.
    public static let spectralFeatureWindow = 64
    /// Bands of the spectral features: four equal bands up to the Nyquist frequency.
    public static let spectralFeatureBands = (0..<4).map { FrequencyBand(lower: Double($0) / 8, upper: Double($0 + 1) / 8) }

    /// - Parameter synchronousTraining: train isolation forests inline (deterministic; `vigil
    ///   eval`) rather than on the background trainer (`vigild`).
    public init(sensor: UInt32, settings: DetectorSettings, synchronousTraining: Bool = false) {
        self.sensor = sensor
        self.settings = settings
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
                let extractor = SpectralFeatureExtractor(windowLength: Self.spectralFeatureWindow, bands: Self.spectralFeatureBands)
                featureExtractor = extractor
                featureRing = Array(repeating: 0, count: Self.spectralFeatureWindow)
                featureVector = Array(repeating: 0, count: extractor.featureCount)
                forest = StreamingIsolationForest(configuration: f, dimension: extractor.featureCount,
                                                  synchronousTraining: synchronousTraining)
            } else {
                forest = StreamingIsolationForest(configuration: f, synchronousTraining: synchronousTraining)
            }
        }
        let off = AlertPolicy(threshold: .infinity, criticalThreshold: .infinity)
        states = [
            AlertStateMachine(policy: settings.zscore?.alerts ?? off, detector: .zscore),
            AlertStateMachine(policy: settings.spectralResidual?.alerts ?? off, detector: .spectralResidual),
            AlertStateMachine(policy: settings.isolationForest?.alerts ?? off, detector: .isolationForest),
        ]
        if let c = settings.combine {
            combiner = ScoreCombiner(rule: c.configuration.rule, weights: c.configuration.weights)
            combinedState = AlertStateMachine(policy: c.alerts, detector: .combined)
            // Small (exponentially weighted): a disabled detector's calibrator costs ~150 bytes.
            calibrators = (0..<3).map { _ in ScoreCalibrator(configuration: settings.calibration) }
        } else {
            combiner = nil
            calibrators = []
        }
    }

    /// Scores one sample and reports any alert transition to `emit`.
    @inline(__always)
    public mutating func process(_ sample: Sample, emit: (AlertEvent) -> Void) {
        process(sample, scores: { _, _ in }, emit: emit)
    }

    /// Scores one sample, reports each detector's score for this sample to `scores` (detector,
    /// score; nothing while a detector warms up) and any alert transition to `emit`.
    /// Scores are raw without `combine`, calibrated probabilities (and `.combined`) with it.
    /// The evaluation tools use `scores`; the daemon passes a no-op.
    ///
    /// No learning into a fault: while the sensor is out of control (`isInControl` is false: an
    /// alert is raised, or the previous sample was already anomalous and a raise may follow), every
    /// detector and calibrator scores the sample against its baseline as it is and learns nothing
    /// from it (see `StreamingDetector`). A sustained fault therefore stays raised for as long as
    /// it lasts, and the alert clears only when the sensor is back within its in-control baseline.
    @inline(__always)
    public mutating func process(_ sample: Sample, scores: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        let ts = sample.timestamp
        let v = sample.value
        let learn = isInControl
        var accumulator = combiner?.accumulator()
        if rolling != nil, let out = rolling!.update(timestamp: ts, value: v, learn: learn) {
            handle(0, .zscore, out, sample, learn, &accumulator, scores, emit)
        } else if ewma != nil, let out = ewma!.update(timestamp: ts, value: v, learn: learn) {
            handle(0, .zscore, out, sample, learn, &accumulator, scores, emit)
        } else if robust != nil, let out = robust!.update(timestamp: ts, value: v, learn: learn) {
            handle(0, .zscore, out, sample, learn, &accumulator, scores, emit)
        }
        if spectral != nil, let out = spectral!.update(timestamp: ts, value: v, learn: learn) {
            handle(1, .spectralResidual, out, sample, learn, &accumulator, scores, emit)
        }
        if forest != nil, let out = updateForest(ts, v, learn: learn) {
            handle(2, .isolationForest, out, sample, learn, &accumulator, scores, emit)
        }
        if let result = accumulator?.result {
            scores(.combined, result.probability)
            let out = DetectorOutput(score: result.probability, evidence: evidence[Self.slot(result.strongest)])
            if let e = combinedState!.step(sensor: sensor, timestamp: ts, value: v, output: out) { emit(e) }
        }
    }

    @inline(__always)
    private mutating func handle(_ slot: Int, _ kind: DetectorKind, _ out: DetectorOutput, _ sample: Sample, _ learn: Bool,
                                 _ accumulator: inout ScoreCombiner.Accumulator?,
                                 _ scores: (DetectorKind, Double) -> Void, _ emit: (AlertEvent) -> Void) {
        if accumulator == nil {
            scores(kind, out.score)
            if let e = states[slot].step(sensor: sensor, timestamp: sample.timestamp, value: sample.value, output: out) { emit(e) }
        } else {
            if out.score >= peakScore[slot] || peakAge[slot] >= settings.calibration.shortWindow {
                peakScore[slot] = out.score
                peakAge[slot] = 0
                evidence[slot] = out.evidence
            } else {
                peakAge[slot] += 1
            }
            if let p = calibrators[slot].calibrate(out.score, learn: learn) {
                scores(kind, p)
                accumulator!.add(kind, p)
            }
        }
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

    @inline(__always)
    static func slot(_ kind: DetectorKind) -> Int {
        switch kind {
        case .zscore: 0
        case .spectralResidual: 1
        case .isolationForest: 2
        case .combined: 0
        }
    }

    /// Whether any of this sensor's alerts is currently raised.
    public var isRaised: Bool { states.contains(where: \.isRaised) || combinedState?.isRaised == true }

    /// Whether the sensor is in control: no alert raised and no anomalous run under way. Only
    /// in-control samples are learned from.
    @inline(__always)
    public var isInControl: Bool {
        for s in states where !s.isInControl { return false }
        return combinedState?.isInControl ?? true
    }

    // MARK: Reconciling with the journal

    /// The alerts this chain holds raised, one per active alert state machine at most: the
    /// detector that raised it (`.combined` with `combine`), its id's timestamp and its severity.
    public var openAlerts: [(detector: DetectorKind, raisedAt: Int64, severity: Severity)] {
        var out: [(detector: DetectorKind, raisedAt: Int64, severity: Severity)] = []
        for kind in DetectorKind.allCases where hasActiveMachine(kind) {
            let m = kind == .combined ? combinedState! : states[Self.slot(kind)]
            if m.isRaised { out.append((kind, m.raisedAt, m.severity)) }
        }
        return out
    }

    /// Whether alerts of detector `kind` come from this chain: `.combined` with `combine`, else
    /// each enabled detector's own state machine.
    public func hasActiveMachine(_ kind: DetectorKind) -> Bool {
        if combinedState != nil { return kind == .combined }
        switch kind {
        case .zscore: return rolling != nil || ewma != nil || robust != nil
        case .spectralResidual: return spectral != nil
        case .isolationForest: return forest != nil
        case .combined: return false
        }
    }

    /// Brings the alert state machine of `latest.detector` in line with the journal's last event
    /// for this sensor and detector (see `AlertStateMachine.reconcile(with:)` for the rule). Off
    /// the sample path: at restart, before the chain processes a sample, and at a reload.
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation {
        guard hasActiveMachine(latest.detector) else { return .unavailable }
        if latest.detector == .combined { return combinedState!.reconcile(with: latest) }
        return states[Self.slot(latest.detector)].reconcile(with: latest)
    }

    // MARK: Snapshot

    /// Which parts a chain built from `settings` has, as bits (checked on restore).
    private var layout: UInt8 {
        var bits: UInt8 = 0
        if rolling != nil { bits |= 1 }
        if ewma != nil { bits |= 2 }
        if robust != nil { bits |= 4 }
        if spectral != nil { bits |= 8 }
        if forest != nil { bits |= 16 }
        if featureExtractor != nil { bits |= 32 }
        if combinedState != nil { bits |= 64 }
        return bits
    }

    /// Writes the state of every detector of the chain, every alert state machine and every
    /// calibrator, for `restore(from:)`. Off the sample path (shutdown); allocates.
    public func write(to w: inout SnapshotWriter) {
        w.write(layout)
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
        for state in states { state.write(to: &w) }
        w.write(UInt32(calibrators.count))
        for calibrator in calibrators { calibrator.write(to: &w) }
        combinedState?.write(to: &w)
        if combinedState != nil {
            for k in 0..<3 {
                w.write(peakScore[k])
                w.write(peakAge[k])
                evidence[k].write(to: &w)
            }
        }
    }

    /// A chain for `sensor` built from `settings` (which must be the settings of the chain that
    /// wrote the snapshot: callers compare `DetectorSettings.fingerprint`), then restored from
    /// `reader`. Everything but an isolation forest continues bit for bit as if there had been no
    /// restart; a forest is retrained once from its saved window (see
    /// `StreamingIsolationForest.restore(from:)`). Throws `SnapshotError` when the record does not
    /// fit the chain. Runs on the restoring thread, before the chain is used.
    public init(sensor: UInt32, settings: DetectorSettings, synchronousTraining: Bool = false,
                restoringFrom reader: inout SnapshotReader) throws(SnapshotError) {
        self.init(sensor: sensor, settings: settings, synchronousTraining: synchronousTraining)
        let bits = try reader.readUInt8("chain layout")
        guard bits == layout else { throw reader.corrupt("chain layout \(bits) does not match the settings' \(layout)") }
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
        for k in states.indices { try states[k].restore(from: &reader) }
        let calibratorCount = try reader.readUInt32("calibrator count")
        guard calibratorCount == calibrators.count else {
            throw reader.corrupt("\(calibratorCount) calibrators where the settings have \(calibrators.count)")
        }
        for k in calibrators.indices { try calibrators[k].restore(from: &reader) }
        try combinedState?.restore(from: &reader)
        if combinedState != nil {
            for k in 0..<3 {
                peakScore[k] = try reader.readDouble("peak score")
                peakAge[k] = try reader.readInt("peak age", in: 0...SnapshotReader.maxCounter)
                evidence[k] = try AlertEvidence(from: &reader)
            }
        }
    }
}

extension AlertEvidence {
    /// Writes the evidence (a tag, then its values) for `init(from:)`.
    func write(to w: inout SnapshotWriter) {
        switch self {
        case .zscore(let mean, let deviation, let z):
            w.write(UInt8(1)); w.write(mean); w.write(deviation); w.write(z)
        case .spectralResidual(let saliency, let baseline, let f):
            w.write(UInt8(2)); w.write(saliency); w.write(baseline); w.write(f)
        case .isolationForest(let pathLength, let feature, let count):
            w.write(UInt8(3)); w.write(pathLength); w.write(Int(feature)); w.write(Int(count))
        case .combined(let strongest, let score):
            w.write(UInt8(4)); w.write(strongest.rawValue); w.write(score)
        case .none:
            w.write(UInt8(0))
        case .closed(let reason):
            w.write(UInt8(5)); w.write(reason.rawValue)
        }
    }

    /// Reads evidence written by `write(to:)`.
    init(from r: inout SnapshotReader) throws(SnapshotError) {
        switch try r.readUInt8("evidence tag") {
        case 0: self = .none
        case 1: self = .zscore(mean: try r.readDouble(), deviation: try r.readDouble(), z: try r.readDouble())
        case 2: self = .spectralResidual(saliency: try r.readDouble(), baseline: try r.readDouble(), dominantFrequency: try r.readDouble())
        case 3:
            let pathLength = try r.readDouble()
            let feature = try r.readInt("feature", in: -1...Int(Int32.max))
            let count = try r.readInt("feature count", in: 0...Int(Int32.max))
            self = .isolationForest(pathLength: pathLength, feature: Int32(feature), featureCount: Int32(count))
        case 4:
            let name = try r.readString("detector")
            guard let kind = DetectorKind(rawValue: name) else { throw r.corrupt("unknown detector \(name)") }
            self = .combined(strongest: kind, strongestScore: try r.readDouble())
        case 5:
            let raw = try r.readUInt8("close reason")
            guard let reason = AlertCloseReason(rawValue: raw) else { throw r.corrupt("unknown close reason \(raw)") }
            self = .closed(reason: reason)
        case let tag: throw r.corrupt("unknown evidence tag \(tag)")
        }
    }
}

