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
    /// The combination when `combine` is turned on: the max of the calibrated probabilities,
    /// raising at 1 − 1e-7 and critical at 1 − 1e-8 (chosen on the NAB corpus for the calibrated
    /// z-score, without per-file tuning). Off in the shipped configuration.
    public static let defaultCombine: DetectorSection<CombineSettings>? = .init(
        CombineSettings(rule: .max, weights: [.surprise: 1, .zscore: 1, .spectralResidual: 1, .isolationForest: 1]),
        alerts: AlertPolicy(threshold: 0.9999999, criticalThreshold: 0.99999999))

    /// The shipped detector: the surprise detector alerting on its own at S ≥ 4 (p ≤ 10⁻⁴),
    /// critical at S ≥ 7, raising on the first surprising sample, clearing after 20 calm ones
    /// (calm: S below the threshold itself), re-learning after a hold of 300 samples.
    public static let defaultSurprise: DetectorSection<SurpriseConfiguration> = .init(
        SurpriseConfiguration(),
        alerts: AlertPolicy(threshold: 4, criticalThreshold: 7, raiseAfter: 1, clearAfter: 20, clearRatio: 1, relearnAfter: 300))

    /// The z-score section when it is turned on: alerts at |z| ≥ 5, critical at 8.
    public static let defaultZScore: DetectorSection<ZScoreSettings> = .init(
        ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8))
}

/// The detectors and alert policies that apply to one sensor, resolved from the config
/// (defaults, then every matching per-sensor override in order). A nil section is off.
/// `DetectorSettings()` is the shipped configuration: the surprise detector alone.
public struct DetectorSettings: Sendable, Equatable {
    public var surprise: DetectorSection<SurpriseConfiguration>?
    public var zscore: DetectorSection<ZScoreSettings>?
    public var spectralResidual: DetectorSection<SpectralResidualConfiguration>?
    public var isolationForest: DetectorSection<IsolationForestConfiguration>?
    /// Raw score → probability; used by `combine` and by detectors whose policy is on
    /// calibrated scores.
    public var calibration: CalibrationConfiguration
    /// When set, alerts come from the combined calibrated score (detector `combined`) with this
    /// section's policy; otherwise each enabled detector alerts on its own.
    public var combine: DetectorSection<CombineSettings>?
    /// The hour-of-week baseline the detectors score against (nil: off, the default).
    public var seasonal: SeasonalBaselineConfiguration?

    public init(zscore: DetectorSection<ZScoreSettings>? = nil,
                spectralResidual: DetectorSection<SpectralResidualConfiguration>? = nil,
                isolationForest: DetectorSection<IsolationForestConfiguration>? = nil,
                calibration: CalibrationConfiguration = .init(),
                combine: DetectorSection<CombineSettings>? = nil,
                surprise: DetectorSection<SurpriseConfiguration>? = DetectorSettings.defaultSurprise,
                seasonal: SeasonalBaselineConfiguration? = nil) {
        self.seasonal = seasonal
        self.surprise = surprise
        self.zscore = zscore
        self.spectralResidual = spectralResidual
        self.isolationForest = isolationForest
        self.calibration = calibration
        self.combine = combine
    }
}

/// One `DetectorSettings` value shared by every chain it applies to: a chain holds a reference
/// (8 bytes) rather than its own 464-byte copy. Immutable, so any thread may read it.
public final class SharedDetectorSettings: Sendable {
    /// The settings.
    public let settings: DetectorSettings

    public init(_ settings: DetectorSettings) { self.settings = settings }
}

/// Hands out one `SharedDetectorSettings` per distinct settings value, so that the chains built
/// from equal settings share them (a plant has a handful of distinct settings; after
/// `capacity` distinct values, new ones are shared no more, only boxed).
///
/// Threading: a value owned by the thread that builds chains (a worker, the restoring thread).
public struct DetectorSettingsInterner: Sendable {
    /// Distinct settings values remembered.
    public static let capacity = 64
    private var known: [SharedDetectorSettings] = []

    public init() {}

    /// The shared box of `settings`: a known one when an equal value was seen before.
    public mutating func share(_ settings: DetectorSettings) -> SharedDetectorSettings {
        if let last = known.last, last.settings == settings { return last }
        if let found = known.first(where: { $0.settings == settings }) { return found }
        let box = SharedDetectorSettings(settings)
        if known.count < Self.capacity { known.append(box) }
        return box
    }
}

/// Every detector of one sensor with its alert state: the exact per-sample code path that both
/// `vigild`'s workers and `vigil eval` run.
///
/// Per sample: each enabled detector (surprise, one z-score variant, spectral residual,
/// isolation forest) scores it. Without `combine`, each detector's raw score drives its own `AlertStateMachine`
/// (thresholds in that detector's scale). With `combine`, each raw score is first calibrated to
/// an anomaly probability (`ScoreCalibrator`, one per detector), the probabilities are combined
/// (`ScoreCombiner`: max or weighted), and one state machine alerts on the combined probability
/// as detector `combined`, with the strongest detector's evidence as its context.
///
/// Threading: owned by one worker thread. `process` allocates nothing (the isolation forest's
/// background training copies into preallocated buffers; see `StreamingIsolationForest`).
public struct SensorDetectors: Sendable {
    public let sensor: UInt32
    /// The settings this chain was built from, shared with the other chains built from them.
    public let sharedSettings: SharedDetectorSettings
    /// The settings this chain was built from.
    public var settings: DetectorSettings { sharedSettings.settings }

    // Detectors, mutated in place (`x!.update`: copying a detector out of its optional would
    // copy its buffers). The z-score, spectral residual and isolation forest (off by default)
    // live in an array of zero or one element: a chain without them stores one word for them.
    private var surprise: SurpriseDetector?
    private var classic: [ClassicDetectors]
    private var rolling: ZScoreDetector? { classic.first?.rolling }
    private var ewma: EWMAZScoreDetector? { classic.first?.ewma }
    private var robust: RobustZScoreDetector? { classic.first?.robust }
    private var spectral: SpectralResidualDetector? { classic.first?.spectral }
    private var forest: StreamingIsolationForest? { classic.first?.forest }
    private var featureExtractor: SpectralFeatureExtractor? { classic.first?.featureExtractor }

    // Alert state per detector, indexed by `slot` (surprise, z-score, spectral residual, isolation
    // forest) up to the highest slot present, and for the combination.
    private var states: [AlertStateMachine]
    // With `combine`: its one `Combination` (an array of zero or one element, so that a chain
    // without it, the shipped one, stores one word for it rather than ~170 bytes).
    private var combination: [Combination] = []

    /// What `combine` adds to a chain: the combiner, its alert state, a calibrator per detector
    /// slot and, per slot, the evidence of its highest raw score within the calibrator's short
    /// window (the calibrated probability averages that window, so a combined alert is explained
    /// by the sample that made it, not by whichever sample completed the raise).
    struct Combination: Sendable {
        let combiner: ScoreCombiner
        var state: AlertStateMachine
        var calibrators: [ScoreCalibrator]
        var evidence: [AlertEvidence]
        var peakScore: [Double]
        var peakAge: [Int]
    }
    // The hour-of-week baseline, in an array of zero or one element (one word when off).
    private var baseline: [SeasonalBaseline] = []
    private let synchronousTraining: Bool

    /// Detectors a chain can hold (the slots of `states`).
    static let slots = 4

    /// Length of the window a `.spectral` isolation forest takes its features from.
    public static let spectralFeatureWindow = 64
    /// Bands of the spectral features: four equal bands up to the Nyquist frequency.
    public static let spectralFeatureBands = (0..<4).map { FrequencyBand(lower: Double($0) / 8, upper: Double($0 + 1) / 8) }

    /// - Parameter synchronousTraining: train isolation forests inline (deterministic; `vigil
    ///   eval`) rather than on the background trainer (`vigild`).
    public init(sensor: UInt32, settings: DetectorSettings, synchronousTraining: Bool = false) {
        self.init(sensor: sensor, shared: SharedDetectorSettings(settings), synchronousTraining: synchronousTraining)
    }

    /// A chain built from shared settings (`DetectorSettingsInterner`), so that it holds a
    /// reference to them rather than a copy.
    public init(sensor: UInt32, shared: SharedDetectorSettings, synchronousTraining: Bool = false) {
        self.sensor = sensor
        sharedSettings = shared
        let settings = shared.settings
        self.synchronousTraining = synchronousTraining
        if let s = settings.seasonal { baseline = [SeasonalBaseline(configuration: s)] }
        let (fresh, others) = Self.detectors(settings, synchronousTraining: synchronousTraining)
        surprise = fresh
        classic = others.map { [$0] } ?? []
        // One state machine per slot up to the highest detector present (absent ones never step).
        let off = AlertPolicy(threshold: .infinity, criticalThreshold: .infinity)
        let present = [surprise != nil, others?.hasZScore == true, others?.spectral != nil, others?.forest != nil]
        let kinds: [DetectorKind] = [.surprise, .zscore, .spectralResidual, .isolationForest]
        let policies = [settings.surprise?.alerts, settings.zscore?.alerts, settings.spectralResidual?.alerts,
                        settings.isolationForest?.alerts]
        let count = (present.lastIndex(of: true) ?? -1) + 1
        states = (0..<count).map { AlertStateMachine(policy: present[$0] ? policies[$0]! : off, detector: kinds[$0]) }
        if let c = settings.combine {
            combination = [Combination(
                combiner: ScoreCombiner(rule: c.configuration.rule, weights: c.configuration.weights),
                state: AlertStateMachine(policy: c.alerts, detector: .combined),
                // Small (exponentially weighted): a disabled detector's calibrator costs ~150 bytes.
                calibrators: (0..<Self.slots).map { _ in ScoreCalibrator(configuration: settings.calibration) },
                evidence: [AlertEvidence](repeating: .none, count: Self.slots),
                peakScore: [Double](repeating: -.infinity, count: Self.slots),
                peakAge: [Int](repeating: 0, count: Self.slots))]
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
        let learn = isInControl
        // With a seasonal baseline the detectors score the deviation from the hour's expected
        // value (once it is trusted; they start afresh at that moment). Alerts carry the raw value.
        var v = sample.value
        if !baseline.isEmpty {
            let trusted = baseline[0].isTrusted
            v = baseline[0].step(timestamp: ts, value: v, learn: learn)
            if !trusted && baseline[0].isTrusted { resetDetectors() }
        }
        var accumulator = combination.isEmpty ? nil : combination[0].combiner.accumulator()
        if !classic.isEmpty {
            let out = classic[0].update(timestamp: ts, value: v, learn: learn)
            if let z = out.zscore { handle(1, .zscore, z, sample, learn, &accumulator, scores, emit) }
            if let s = out.spectralResidual { handle(2, .spectralResidual, s, sample, learn, &accumulator, scores, emit) }
            if let f = out.isolationForest { handle(3, .isolationForest, f, sample, learn, &accumulator, scores, emit) }
        }
        // Optional chaining updates in place; `surprise != nil` would copy the detector out of
        // its optional to compare it (retaining and releasing its buffer) on every sample.
        if let out = surprise?.update(timestamp: ts, value: v, learn: learn) {
            handle(0, .surprise, out, sample, learn, &accumulator, scores, emit)
        }
        if let result = accumulator?.result {
            scores(.combined, result.probability)
            let out = DetectorOutput(score: result.probability, evidence: combination[0].evidence[Self.slot(result.strongest)])
            if let e = combination[0].state.step(sensor: sensor, timestamp: ts, value: sample.value, output: out) {
                emit(e)
                if e.clearReason == .relearned { relearn(slot: nil) }
            }
        }
    }

    /// Fresh detectors and calibrators, alert states kept: the seasonal baseline became trusted,
    /// so what they score changes from the raw value to its deviation. Once per chain.
    private mutating func resetDetectors() {
        let (fresh, others) = Self.detectors(settings, synchronousTraining: synchronousTraining)
        surprise = fresh
        classic = others.map { [$0] } ?? []
        if !combination.isEmpty {
            for k in combination[0].calibrators.indices {
                combination[0].calibrators[k] = ScoreCalibrator(configuration: settings.calibration)
            }
        }
    }

    /// The detectors `settings` enable, untrained (a new chain's, or a reset's).
    private static func detectors(_ settings: DetectorSettings, synchronousTraining: Bool) -> (SurpriseDetector?, ClassicDetectors?) {
        (settings.surprise.map { SurpriseDetector(configuration: $0.configuration, threshold: $0.alerts.threshold) },
         ClassicDetectors(settings: settings, synchronousTraining: synchronousTraining))
    }

    /// The seasonal baseline, when the chain has one (for tests and tools).
    public var seasonalBaseline: SeasonalBaseline? { baseline.first }

    /// A state machine of `slot` (nil: the combination) released a lasting alert as a new
    /// regime: the detectors behind it re-learn their baselines. Only the surprise detector
    /// re-learns; the others keep theirs (their sections have no `relearn_after`).
    private mutating func relearn(slot: Int?) {
        if slot == nil || slot == 0, surprise != nil { surprise!.relearn() }
    }

    @inline(__always)
    private mutating func handle(_ slot: Int, _ kind: DetectorKind, _ out: DetectorOutput, _ sample: Sample, _ learn: Bool,
                                 _ accumulator: inout ScoreCombiner.Accumulator?,
                                 _ scores: (DetectorKind, Double) -> Void, _ emit: (AlertEvent) -> Void) {
        if accumulator == nil {
            scores(kind, out.score)
            if let e = states[slot].step(sensor: sensor, timestamp: sample.timestamp, value: sample.value, output: out) {
                emit(e)
                if e.clearReason == .relearned { relearn(slot: slot) }
            }
        } else {
            if out.score >= combination[0].peakScore[slot]
                || combination[0].peakAge[slot] >= sharedSettings.settings.calibration.shortWindow {
                combination[0].peakScore[slot] = out.score
                combination[0].peakAge[slot] = 0
                combination[0].evidence[slot] = out.evidence
            } else {
                combination[0].peakAge[slot] += 1
            }
            if let p = combination[0].calibrators[slot].calibrate(out.score, learn: learn) {
                scores(kind, p)
                accumulator!.add(kind, p)
            }
        }
    }

    @inline(__always)
    static func slot(_ kind: DetectorKind) -> Int {
        switch kind {
        case .surprise: 0
        case .zscore: 1
        case .spectralResidual: 2
        case .isolationForest: 3
        case .combined, .pca: 0  // neither is a detector of the chain
        }
    }

    /// Bytes this chain holds: its inline size, its arrays and the surprise detector's buffer
    /// (array headers counted as 32 bytes, allocator overhead not; the buffers of the z-score,
    /// spectral residual and isolation forest detectors are not included).
    public var memoryFootprint: Int {
        func heap<T>(_ a: [T]) -> Int { a.capacity == 0 ? 0 : 32 + a.capacity * MemoryLayout<T>.stride }
        var bytes = MemoryLayout<SensorDetectors>.size
        bytes += heap(states) + heap(combination) + heap(classic)
        if let c = combination.first { bytes += heap(c.calibrators) + heap(c.evidence) + heap(c.peakScore) + heap(c.peakAge) }
        if !baseline.isEmpty { bytes += heap(baseline) + 32 + SeasonalBaseline.buckets * (8 + 4) + 64 }
        bytes += classic.first?.featureHeapBytes ?? 0
        if let surprise { bytes += surprise.memoryFootprint - MemoryLayout<SurpriseDetector>.size }
        return bytes
    }

    /// Whether any of this sensor's alerts is currently raised.
    public var isRaised: Bool { states.contains(where: \.isRaised) || combination.first?.state.isRaised == true }

    /// Whether the sensor is in control: no alert raised and no anomalous run under way. Only
    /// in-control samples are learned from.
    @inline(__always)
    public var isInControl: Bool {
        for s in states where !s.isInControl { return false }
        return combination.isEmpty || combination[0].state.isInControl
    }

    // MARK: Reconciling with the journal

    /// The alerts this chain holds raised, one per active alert state machine at most: the
    /// detector that raised it (`.combined` with `combine`), its id's timestamp and its severity.
    public var openAlerts: [(detector: DetectorKind, raisedAt: Int64, severity: Severity)] {
        var out: [(detector: DetectorKind, raisedAt: Int64, severity: Severity)] = []
        for kind in DetectorKind.allCases where hasActiveMachine(kind) {
            let m = kind == .combined ? combination[0].state : states[Self.slot(kind)]
            if m.isRaised { out.append((kind, m.raisedAt, m.severity)) }
        }
        return out
    }

    /// Whether alerts of detector `kind` come from this chain: `.combined` with `combine`, else
    /// each enabled detector's own state machine.
    public func hasActiveMachine(_ kind: DetectorKind) -> Bool {
        if !combination.isEmpty { return kind == .combined }
        switch kind {
        case .surprise: return surprise != nil
        case .zscore: return rolling != nil || ewma != nil || robust != nil
        case .spectralResidual: return spectral != nil
        case .isolationForest: return forest != nil
        case .combined, .pca: return false
        }
    }

    /// Brings the alert state machine of `latest.detector` in line with the journal's last event
    /// for this sensor and detector (see `AlertStateMachine.reconcile(with:)` for the rule). Off
    /// the sample path: at restart, before the chain processes a sample, and at a reload.
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation {
        guard hasActiveMachine(latest.detector) else { return .unavailable }
        if latest.detector == .combined { return combination[0].state.reconcile(with: latest) }
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
        if !combination.isEmpty { bits |= 64 }
        if surprise != nil { bits |= 128 }
        return bits
    }

    /// Writes the state of every detector of the chain, every alert state machine and every
    /// calibrator, for `restore(from:)`. Off the sample path (shutdown); allocates.
    public func write(to w: inout SnapshotWriter) {
        w.write(layout)
        classic.first?.write(to: &w)
        surprise?.write(to: &w)
        for state in states { state.write(to: &w) }
        let calibrators = combination.first?.calibrators ?? []
        w.write(UInt32(calibrators.count))
        for calibrator in calibrators { calibrator.write(to: &w) }
        if let c = combination.first {
            c.state.write(to: &w)
            for k in 0..<Self.slots {
                w.write(c.peakScore[k])
                w.write(c.peakAge[k])
                c.evidence[k].write(to: &w)
            }
        }
        baseline.first?.write(to: &w)
    }

    /// A chain for `sensor` built from `settings` (which must be the settings of the chain that
    /// wrote the snapshot: callers compare `DetectorSettings.fingerprint`), then restored from
    /// `reader`. Everything but an isolation forest continues bit for bit as if there had been no
    /// restart; a forest is retrained once from its saved window (see
    /// `StreamingIsolationForest.restore(from:)`). Throws `SnapshotError` when the record does not
    /// fit the chain. Runs on the restoring thread, before the chain is used.
    public init(sensor: UInt32, settings: DetectorSettings, synchronousTraining: Bool = false,
                restoringFrom reader: inout SnapshotReader) throws(SnapshotError) {
        try self.init(sensor: sensor, shared: SharedDetectorSettings(settings), synchronousTraining: synchronousTraining,
                      restoringFrom: &reader)
    }

    /// The same from shared settings (`DetectorSettingsInterner`).
    public init(sensor: UInt32, shared: SharedDetectorSettings, synchronousTraining: Bool = false,
                restoringFrom reader: inout SnapshotReader) throws(SnapshotError) {
        self.init(sensor: sensor, shared: shared, synchronousTraining: synchronousTraining)
        let bits = try reader.readUInt8("chain layout")
        guard bits == layout else { throw reader.corrupt("chain layout \(bits) does not match the settings' \(layout)") }
        if !classic.isEmpty { try classic[0].restore(from: &reader) }
        try surprise?.restore(from: &reader)
        for k in states.indices { try states[k].restore(from: &reader) }
        let calibratorCount = try reader.readUInt32("calibrator count")
        let expected = combination.first?.calibrators.count ?? 0
        guard calibratorCount == expected else {
            throw reader.corrupt("\(calibratorCount) calibrators where the settings have \(expected)")
        }
        if !combination.isEmpty {
            for k in combination[0].calibrators.indices { try combination[0].calibrators[k].restore(from: &reader) }
            try combination[0].state.restore(from: &reader)
            for k in 0..<Self.slots {
                combination[0].peakScore[k] = try reader.readDouble("peak score")
                combination[0].peakAge[k] = try reader.readInt("peak age", in: 0...SnapshotReader.maxCounter)
                combination[0].evidence[k] = try AlertEvidence(from: &reader)
            }
        }
        if !baseline.isEmpty { try baseline[0].restore(from: &reader) }
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
        case .pca(let e):
            w.write(UInt8(5)); w.write(e.t2); w.write(e.t2Limit); w.write(e.q); w.write(e.qLimit)
            for i in 0..<PCAEvidence.slots {
                let c = e[i]
                w.write(Int(c.position)); w.write(Double(c.t2Share)); w.write(Double(c.qShare)); w.write(Double(c.z))
            }
        case .surprise(let e):
            w.write(UInt8(6))
            switch e {
            case .change(let s, let change, let typical):
                w.write(UInt8(0)); w.write(s); w.write(change); w.write(typical)
            case .level(let s, let baseline, let deviation, let up):
                w.write(UInt8(1)); w.write(s); w.write(baseline); w.write(deviation); w.write(up)
            case .range(let s, let lower, let upper, let recent):
                w.write(UInt8(2)); w.write(s); w.write(lower); w.write(upper); w.write(recent)
            case .seasonal(let s, let expected, let scale, let period):
                w.write(UInt8(3)); w.write(s); w.write(expected); w.write(scale); w.write(UInt32(bitPattern: period))
            }
        case .none:
            w.write(UInt8(0))
        case .closed(let reason):
            w.write(UInt8(7)); w.write(reason.rawValue)
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
            var e = PCAEvidence(t2: try r.readDouble(), t2Limit: try r.readDouble(), q: try r.readDouble(), qLimit: try r.readDouble())
            for i in 0..<PCAEvidence.slots {
                let position = try r.readInt("contribution position", in: -1...Int(Int32.max))
                e[i] = PCAContribution(position: Int32(position), t2Share: Float(try r.readDouble()),
                                       qShare: Float(try r.readDouble()), z: Float(try r.readDouble()))
            }
            self = .pca(e)
        case 6:
            switch try r.readUInt8("surprise channel") {
            case 0: self = .surprise(.change(surprise: try r.readDouble(), change: try r.readDouble(), typicalChange: try r.readDouble()))
            case 1:
                self = .surprise(.level(surprise: try r.readDouble(), baseline: try r.readDouble(), deviation: try r.readDouble(),
                                        up: try r.readBool()))
            case 2:
                self = .surprise(.range(surprise: try r.readDouble(), lower: try r.readDouble(), upper: try r.readDouble(),
                                        recent: try r.readBool()))
            case 3:
                self = .surprise(.seasonal(surprise: try r.readDouble(), expected: try r.readDouble(), scale: try r.readDouble(),
                                           periodSamples: Int32(bitPattern: try r.readUInt32())))
            case let channel: throw r.corrupt("unknown surprise channel \(channel)")
            }
        case 7:
            let raw = try r.readUInt8("close reason")
            guard let reason = AlertCloseReason(rawValue: raw) else { throw r.corrupt("unknown close reason \(raw)") }
            self = .closed(reason: reason)
        case let tag: throw r.corrupt("unknown evidence tag \(tag)")
        }
    }
}

