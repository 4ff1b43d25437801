// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Multivariate detection for an asset (a group of sensors: a wide fixture, or an `assets`
/// entry of the config), so that a broken relation between sensors is caught even while each
/// stays in its usual range. Two models, each optional, each with its own alert state:
/// - a PCA monitor (`PCAMonitor`, detector `pca`): T² and Q of the (lagged) vector against
///   limits learned from a baseline, with the members that moved as evidence;
/// - an isolation forest over the vector (`StreamingIsolationForest` with `features: asset`,
///   detector `isolation_forest`), with the member that isolated the point most often as
///   `feature` in the evidence.
///
/// A vector is formed when every member has reported at least once since the last vector (one
/// "round"); members report in any order and at any rate, and the vector holds each member's
/// latest value. Members are numbered in the order they join. A member beyond the current
/// dimension grows the vector: the models restart at the new dimension (the PCA monitor learns a
/// new baseline), the alert states are kept, so a raised alert is still cleared with its id (this
/// happens only while an asset's sensors first appear). Alerts are raised for the asset itself
/// (`sensor` = the asset's index).
///
/// Threading: owned by the worker that owns all of the asset's sensors (the pipeline shards an
/// asset's members to one worker). `update` allocates nothing except when the asset grows.
public struct AssetDetector: Sendable {
    /// Which models an asset runs.
    public struct Settings: Sendable, Equatable {
        /// The isolation forest over the vector (its `features` is `.asset`), if any.
        public var isolationForest: DetectorSection<IsolationForestConfiguration>?
        /// The PCA monitor, if any.
        public var pca: DetectorSection<PCAConfiguration>?

        public init(isolationForest: DetectorSection<IsolationForestConfiguration>? = nil,
                    pca: DetectorSection<PCAConfiguration>? = nil) {
            self.isolationForest = isolationForest
            self.pca = pca
        }

        /// The asset models of a member's settings (its isolation forest when it is an asset
        /// forest) and the asset's PCA section.
        public init(member: DetectorSettings, pca: DetectorSection<PCAConfiguration>?) {
            let forest = member.isolationForest
            self.init(isolationForest: forest?.configuration.features == .asset ? forest : nil, pca: pca)
        }

        /// Whether no model runs (then no `AssetDetector` is needed).
        public var isEmpty: Bool { isolationForest == nil && pca == nil }

        /// The alert threshold of `kind`'s scores, if that model runs.
        public func threshold(of kind: DetectorKind) -> Double? {
            switch kind {
            case .isolationForest: isolationForest?.alerts.threshold
            case .pca: pca?.alerts.threshold
            default: nil
            }
        }
    }

    /// The asset's index in the sensor registry (alerts name the asset).
    public let asset: UInt32
    public let settings: Settings
    public let synchronousTraining: Bool
    public private(set) var dimension: Int
    private var latest: [Double]
    private var reported: [Bool]
    private var pending: Int
    private var forest: StreamingIsolationForest?
    private var forestState: AlertStateMachine?
    private var pca: PCAMonitor?
    private var pcaState: AlertStateMachine?

    public init(asset: UInt32, settings: Settings, dimension: Int, synchronousTraining: Bool = false) {
        precondition(!settings.isEmpty, "an asset detector needs a model")
        self.asset = asset
        self.settings = settings
        self.synchronousTraining = synchronousTraining
        self.dimension = max(1, dimension)
        latest = Array(repeating: 0, count: self.dimension)
        reported = Array(repeating: false, count: self.dimension)
        pending = self.dimension
        if let section = settings.isolationForest {
            forestState = AlertStateMachine(policy: section.alerts, detector: .isolationForest)
        }
        if let section = settings.pca {
            pcaState = AlertStateMachine(policy: section.alerts, detector: .pca)
        }
        buildModels()
    }

    /// An asset running only an isolation forest (`features` is set to `.asset`).
    public init(asset: UInt32, settings section: DetectorSection<IsolationForestConfiguration>, dimension: Int,
                synchronousTraining: Bool = false) {
        var s = section
        s.configuration.features = .asset
        self.init(asset: asset, settings: Settings(isolationForest: s), dimension: dimension,
                  synchronousTraining: synchronousTraining)
    }

    /// Fresh models at the current dimension.
    private mutating func buildModels() {
        if var configuration = settings.isolationForest?.configuration {
            configuration.features = .asset
            forest = StreamingIsolationForest(configuration: configuration, dimension: dimension,
                                              synchronousTraining: synchronousTraining)
        }
        // Too wide for the monitor at this dimension (more variables than it takes, even without
        // lags): no PCA model, rather than one of the old dimension.
        if let configuration = settings.pca?.configuration, PCAMonitor.lags(for: configuration, dimension: dimension) != nil {
            pca = PCAMonitor(configuration: configuration, dimension: dimension)
        } else {
            pca = nil
        }
    }

    /// Records member `position`'s value; runs the models when the round is complete. `score`
    /// receives each model's score of a completed round (once it has one).
    public mutating func update(position: Int, timestamp: Int64, value: Double,
                                score: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        precondition(position >= 0)
        if position >= dimension { grow(to: position + 1) }
        latest[position] = value
        if !reported[position] {
            reported[position] = true
            pending -= 1
        }
        guard pending == 0 else { return }
        for k in 0..<dimension { reported[k] = false }
        pending = dimension
        if forest != nil {
            let learn = forestState!.isInControl
            let output = latest.withUnsafeBufferPointer { forest!.update(timestamp: timestamp, vector: $0, learn: learn) }
            if let output {
                score(.isolationForest, output.score)
                if let e = forestState!.step(sensor: asset, timestamp: timestamp, value: value, output: output) { emit(e) }
            }
        }
        if pca != nil {
            let raised = pcaState!.isRaised
            let output = latest.withUnsafeBufferPointer { pca!.update(timestamp: timestamp, vector: $0, alertRaised: raised) }
            if let output {
                score(.pca, output.score)
                if let e = pcaState!.step(sensor: asset, timestamp: timestamp, value: value, output: output) { emit(e) }
            }
        }
    }

    /// Grows the vector to `newDimension` members; the models restart, the alert states stay.
    private mutating func grow(to newDimension: Int) {
        let added = newDimension - dimension
        latest.append(contentsOf: repeatElement(0, count: added))
        reported.append(contentsOf: repeatElement(false, count: added))
        pending += added
        dimension = newDimension
        buildModels()
    }

    /// Whether an alert of the asset is raised (either model's).
    public var isRaised: Bool { forestState?.isRaised == true || pcaState?.isRaised == true }

    /// Whether the asset's PCA monitor monitors (its baseline is learned): then its members'
    /// own alerts are held back under `MemberAlerts.whileLearning`.
    public var isMonitoring: Bool { pca?.isMonitoring == true }

    /// The PCA monitor, if the asset runs one (for tests and tools).
    public var pcaMonitor: PCAMonitor? { pca }

    /// The asset's raised alerts (each model's: its detector, its id's timestamp and severity).
    public var openAlerts: [(detector: DetectorKind, raisedAt: Int64, severity: Severity)] {
        [forestState, pcaState].compactMap { m in m.flatMap { $0.isRaised ? ($0.detector, $0.raisedAt, $0.severity) : nil } }
    }

    /// Brings the alert state of the journaled event's model in line with it (see
    /// `AlertStateMachine.reconcile(with:)`); `.unavailable` for a model the asset does not run.
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation {
        switch latest.detector {
        case .isolationForest where forestState != nil: forestState!.reconcile(with: latest)
        case .pca where pcaState != nil: pcaState!.reconcile(with: latest)
        default: .unavailable
        }
    }

    // MARK: Snapshot

    /// Writes the dimension, the current round (latest values, who reported), then each model's
    /// state and its alert state (forest first), for `init(asset:settings:synchronousTraining:restoringFrom:)`.
    /// With only an isolation forest the layout is the one earlier versions wrote.
    public func write(to w: inout SnapshotWriter) {
        w.write(dimension)
        w.write(pending)
        w.write(latest)
        w.write(reported)
        if let forest, let forestState {
            forest.write(to: &w)
            forestState.write(to: &w)
        }
        if let pca, let pcaState {
            pca.write(to: &w)
            pcaState.write(to: &w)
        }
    }

    /// An asset detector restored from what `write(to:)` wrote with the same settings (callers
    /// compare fingerprints and member names). The forest is retrained once from its window (see
    /// `StreamingIsolationForest.restore(from:)`); the round, the PCA monitor and the alert states
    /// continue exactly. Throws `SnapshotError` when the record does not fit.
    public init(asset: UInt32, settings: Settings, synchronousTraining: Bool = false,
                restoringFrom r: inout SnapshotReader) throws(SnapshotError) {
        guard !settings.isEmpty else { throw r.corrupt("asset record for settings without a model") }
        let dimension = try r.readInt("asset dimension", in: 1...65_536)
        let pending = try r.readInt("asset pending", in: 0...dimension)
        // Read (and so bound by the bytes present) before anything of this size is allocated.
        let latest = try r.readDoubles("asset latest values", count: dimension)
        let reported = try r.readBools("asset reported", count: dimension)
        guard reported.filter({ !$0 }).count == pending else { throw r.corrupt("asset round: \(pending) pending") }
        if let section = settings.isolationForest {
            guard r.remaining >= 8 * section.configuration.trainingWindow * dimension else {
                throw r.corrupt("asset forest window of dimension \(dimension) does not fit in \(r.remaining) bytes")
            }
        }
        if let section = settings.pca, let lags = PCAMonitor.lags(for: section.configuration, dimension: dimension) {
            // The monitor's lag history at least (its buffers are allocated at this size).
            guard r.remaining >= 8 * (lags + 1) * dimension else {
                throw r.corrupt("asset PCA monitor of dimension \(dimension) does not fit in \(r.remaining) bytes")
            }
        }
        self.init(asset: asset, settings: settings, dimension: dimension, synchronousTraining: synchronousTraining)
        if forest != nil {
            try forest!.restore(from: &r)
            try forestState!.restore(from: &r)
        }
        if pca != nil, let configuration = settings.pca?.configuration {
            pca = try PCAMonitor(configuration: configuration, dimension: dimension, restoringFrom: &r)
        }
        if pcaState != nil, pca != nil { try pcaState!.restore(from: &r) }
        self.pending = pending
        self.latest = latest
        self.reported = reported
    }

    /// A detector restored from a record of an isolation-forest-only asset.
    public init(asset: UInt32, settings section: DetectorSection<IsolationForestConfiguration>, synchronousTraining: Bool = false,
                restoringFrom r: inout SnapshotReader) throws(SnapshotError) {
        var s = section
        s.configuration.features = .asset
        try self.init(asset: asset, settings: Settings(isolationForest: s), synchronousTraining: synchronousTraining, restoringFrom: &r)
    }
}
