// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Multivariate detection for an asset (a group of sensors: a wide fixture, or an `assets`
/// entry of the config): an isolation forest over the vector of the members' latest values, so
/// that a broken correlation between sensors is caught even while each stays in its usual range.
///
/// A vector is scored when every member has reported at least once since the last vector (one
/// "round"); members report in any order and at any rate. Members are numbered in the order they
/// join; a member beyond the current dimension grows the vector and restarts the forest (this
/// happens only while an asset's sensors first appear). Alerts are raised for the asset itself
/// (`sensor` = the asset's index), with the member that isolated the point most often as
/// `feature` in the evidence.
///
/// Threading: owned by the worker that owns all of the asset's sensors (the pipeline shards an
/// asset's members to one worker). `update` allocates nothing except when the asset grows.
public struct AssetDetector: Sendable {
    /// The asset's index in the sensor registry (alerts name the asset).
    public let asset: UInt32
    public let settings: DetectorSection<IsolationForestConfiguration>
    public let synchronousTraining: Bool
    public private(set) var dimension: Int
    private var latest: [Double]
    private var reported: [Bool]
    private var pending: Int
    private var forest: StreamingIsolationForest
    private var state: AlertStateMachine

    public init(asset: UInt32, settings: DetectorSection<IsolationForestConfiguration>, dimension: Int,
                synchronousTraining: Bool = false) {
        self.asset = asset
        self.settings = settings
        self.synchronousTraining = synchronousTraining
        self.dimension = max(1, dimension)
        latest = Array(repeating: 0, count: self.dimension)
        reported = Array(repeating: false, count: self.dimension)
        pending = self.dimension
        var configuration = settings.configuration
        configuration.features = .asset
        forest = StreamingIsolationForest(configuration: configuration, dimension: self.dimension,
                                          synchronousTraining: synchronousTraining)
        state = AlertStateMachine(policy: settings.alerts, detector: .isolationForest)
    }

    /// Records member `position`'s value; scores the vector when the round is complete.
    /// `score` receives the forest score of a completed round.
    public mutating func update(position: Int, timestamp: Int64, value: Double,
                                score: (Double) -> Void, emit: (AlertEvent) -> Void) {
        precondition(position >= 0)
        if position >= dimension {
            self = AssetDetector(asset: asset, settings: settings, dimension: position + 1,
                                 synchronousTraining: synchronousTraining)
        }
        latest[position] = value
        if !reported[position] {
            reported[position] = true
            pending -= 1
        }
        guard pending == 0 else { return }
        for k in 0..<dimension { reported[k] = false }
        pending = dimension
        let learn = state.isInControl
        let output = latest.withUnsafeBufferPointer { forest.update(timestamp: timestamp, vector: $0, learn: learn) }
        guard let output else { return }
        score(output.score)
        if let e = state.step(sensor: asset, timestamp: timestamp, value: value, output: output) { emit(e) }
    }

    /// Whether the asset's alert is raised.
    public var isRaised: Bool { state.isRaised }

    /// The asset's raised alert, if any (its id's timestamp and severity).
    public var openAlert: (raisedAt: Int64, severity: Severity)? { state.isRaised ? (state.raisedAt, state.severity) : nil }

    /// Brings the asset's alert state in line with the journal's last event for it (see
    /// `AlertStateMachine.reconcile(with:)`); `.unavailable` for another detector's event.
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation {
        guard latest.detector == .isolationForest else { return .unavailable }
        return state.reconcile(with: latest)
    }

    // MARK: Snapshot

    /// Writes the dimension, the current round (latest values, who reported), the forest's
    /// window and the alert state for `init(asset:settings:synchronousTraining:restoringFrom:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(dimension)
        w.write(pending)
        w.write(latest)
        w.write(reported)
        forest.write(to: &w)
        state.write(to: &w)
    }

    /// An asset detector restored from what `write(to:)` wrote with the same settings (callers
    /// compare fingerprints and member names). The forest is retrained once from its window (see
    /// `StreamingIsolationForest.restore(from:)`); the round and alert state continue exactly.
    /// Throws `SnapshotError` when the record does not fit.
    public init(asset: UInt32, settings: DetectorSection<IsolationForestConfiguration>, synchronousTraining: Bool = false,
                restoringFrom r: inout SnapshotReader) throws(SnapshotError) {
        let dimension = try r.readInt("asset dimension", in: 1...65_536)
        let pending = try r.readInt("asset pending", in: 0...dimension)
        // Read (and so bound by the bytes present) before anything of this size is allocated.
        let latest = try r.readDoubles("asset latest values", count: dimension)
        let reported = try r.readBools("asset reported", count: dimension)
        guard reported.filter({ !$0 }).count == pending else { throw r.corrupt("asset round: \(pending) pending") }
        guard r.remaining >= 8 * settings.configuration.trainingWindow * dimension else {
            throw r.corrupt("asset forest window of dimension \(dimension) does not fit in \(r.remaining) bytes")
        }
        self.init(asset: asset, settings: settings, dimension: dimension, synchronousTraining: synchronousTraining)
        try forest.restore(from: &r)
        try state.restore(from: &r)
        self.pending = pending
        self.latest = latest
        self.reported = reported
    }
}

