// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// What reconciling one alert state machine with the journal did (`AlertStateMachine.reconcile(with:)`).
public enum AlertReconciliation: Sendable, Equatable {
    /// The machine already agreed with the journal.
    case unchanged
    /// The journal shows an alert raised that the machine did not hold (or at a higher
    /// severity): it holds it now and will clear it normally.
    case adopted
    /// The journal shows the machine's raised alert cleared: the machine no longer holds it.
    case cleared
    /// The journal shows an older alert cleared while the machine holds a newer one the journal
    /// lacks (the journal is behind the checkpoint): the newer one is kept.
    case keptNewer
    /// The chain has no active alert state machine for that detector.
    case unavailable
}

/// When an alert is raised and cleared, shared by every detector.
public struct AlertPolicy: Sendable, Equatable, Codable {
    /// Score at or above which a sample counts as anomalous (a `warning`).
    public var threshold: Double
    /// Score at or above which an alert is `critical`.
    public var criticalThreshold: Double
    /// Consecutive anomalous samples needed to raise (K ≥ 1).
    public var raiseAfter: Int
    /// Consecutive calm samples needed to clear (≥ 1).
    public var clearAfter: Int
    /// A sample is calm when its score is below `threshold × clearRatio` (hysteresis, 0 < r ≤ 1).
    public var clearRatio: Double
    /// Samples an alert may be held before it counts as a new regime (0 = never): it is then
    /// cleared with `AlertClearReason.relearned` and the chain tells its detector to re-learn
    /// its baseline (`SurpriseDetector.relearn()`).
    public var relearnAfter: Int

    public init(threshold: Double, criticalThreshold: Double, raiseAfter: Int = 3, clearAfter: Int = 10, clearRatio: Double = 0.75,
                relearnAfter: Int = 0) {
        self.threshold = threshold
        self.criticalThreshold = criticalThreshold
        self.raiseAfter = raiseAfter
        self.clearAfter = clearAfter
        self.clearRatio = clearRatio
        self.relearnAfter = relearnAfter
    }
}

/// The raise/clear state of one sensor's alerts from one detector.
///
/// Raises after `raiseAfter` consecutive samples at or above the threshold; escalates to
/// `critical` (a second `raised` event with the same id) when a score reaches the critical
/// threshold while raised; clears after `clearAfter` consecutive samples below
/// `threshold × clearRatio`. Samples between the two thresholds keep the current state, so a
/// noisy sensor hovering near the threshold does not flap. With `relearnAfter` > 0, an alert
/// still held `relearnAfter` samples after the one that raised it is cleared with reason
/// `.relearned` (a lasting change is a new regime; the chain then re-baselines the detector).
public struct AlertStateMachine: Sendable {
    public let policy: AlertPolicy
    public let detector: DetectorKind
    public private(set) var isRaised = false
    /// Whether nothing is amiss: not raised, and the last sample was below the threshold (no run
    /// towards a raise under way). Detectors learn only from in-control samples.
    ///
    /// An alert taken over from the journal (`adoptRaised`) counts as in control until the first
    /// score reaches this machine: a chain that is still warming up (new, or new settings) must
    /// learn its baseline to be able to clear the alert at all; from the first score on, the
    /// alert is raised like any other.
    @inline(__always)
    public var isInControl: Bool { !isRaised ? anomalousRun == 0 : runMaxScore == Self.adoptedUnscored }
    /// `runMaxScore` is unused while raised; this value there marks an adopted alert that no
    /// score has reached yet (kept across checkpoints with the rest of the state).
    private static let adoptedUnscored = -Double.infinity
    /// Severity of the raised alert (`.warning` while none is raised).
    public private(set) var severity: Severity = .warning
    /// Timestamp of the sample that raised the current alert (its `id`); meaningful while raised.
    public private(set) var raisedAt: Int64 = 0
    private var anomalousRun = 0
    private var calmRun = 0
    private var runMaxScore = 0.0
    /// Samples since the one that raised the alert.
    private var heldFor = 0

    public init(policy: AlertPolicy, detector: DetectorKind) {
        precondition(policy.raiseAfter >= 1 && policy.clearAfter >= 1 && policy.relearnAfter >= 0)
        self.policy = policy
        self.detector = detector
    }

    /// Feeds one scored sample; returns the transition it causes, if any.
    @inline(__always)
    public mutating func step(sensor: UInt32, timestamp: Int64, value: Double, output: DetectorOutput) -> AlertEvent? {
        let score = output.score
        if !isRaised {
            if score >= policy.threshold {
                anomalousRun += 1
                runMaxScore = max(runMaxScore, score)
                if anomalousRun >= policy.raiseAfter {
                    isRaised = true
                    calmRun = 0
                    heldFor = 0
                    raisedAt = timestamp
                    severity = runMaxScore >= policy.criticalThreshold ? .critical : .warning
                    return event(.raised, sensor: sensor, timestamp: timestamp, value: value, output: output)
                }
            } else {
                anomalousRun = 0
                runMaxScore = 0
            }
            return nil
        }
        if heldFor < SnapshotReader.maxCounter { heldFor += 1 }
        if runMaxScore == Self.adoptedUnscored { runMaxScore = 0 }  // the adopted alert's first score
        let calm = score < policy.threshold * policy.clearRatio
        if calm {
            calmRun += 1
            if calmRun >= policy.clearAfter {
                return clear(.calm, sensor: sensor, timestamp: timestamp, value: value, output: output)
            }
        } else {
            calmRun = 0
        }
        // A calm clear wins over a re-learning one, and a re-learning one over an escalation.
        if policy.relearnAfter > 0, heldFor >= policy.relearnAfter {
            return clear(.relearned, sensor: sensor, timestamp: timestamp, value: value, output: output)
        }
        if !calm, severity == .warning, score >= policy.criticalThreshold {
            severity = .critical
            return event(.raised, sensor: sensor, timestamp: timestamp, value: value, output: output)
        }
        return nil
    }

    private mutating func clear(_ reason: AlertClearReason, sensor: UInt32, timestamp: Int64, value: Double,
                                output: DetectorOutput) -> AlertEvent {
        isRaised = false
        anomalousRun = 0
        runMaxScore = 0
        var e = event(.cleared, sensor: sensor, timestamp: timestamp, value: value, output: output)
        e.clearReason = reason
        severity = .warning
        return e
    }

    private func event(_ kind: AlertEventKind, sensor: UInt32, timestamp: Int64, value: Double, output: DetectorOutput) -> AlertEvent {
        AlertEvent(sensor: sensor, detector: detector, event: kind, severity: severity, score: output.score,
                   threshold: policy.threshold, value: value, timestamp: timestamp, raisedAt: raisedAt,
                   evidence: output.evidence)
    }

    // MARK: Reconciling with the journal

    /// Takes over an alert the journal shows raised (id `raisedAt`, `severity`), so that it is
    /// cleared, with that id, when the scores say so (see `isInControl` for a chain still warming
    /// up). Used at restart when the journal is ahead of the restored state, and at a reload that
    /// gives the sensor new settings; off the sample path.
    public mutating func adoptRaised(raisedAt: Int64, severity: Severity) {
        calmRun = 0
        isRaised = true
        self.raisedAt = raisedAt
        self.severity = severity
        anomalousRun = 0
        runMaxScore = Self.adoptedUnscored
    }

    /// Ends the raised alert without an event: the journal already holds its clear. Used at
    /// restart so that no alert is cleared twice; off the sample path.
    public mutating func markCleared() {
        isRaised = false
        severity = .warning
        anomalousRun = 0
        calmRun = 0
        runMaxScore = 0
    }

    /// Brings this machine in line with `latest`, the journal's last event for its sensor and
    /// detector, which is at least as new as the restored state (a checkpoint is committed only
    /// once every alert emitted before it is journaled):
    ///
    /// - the journal shows alert X raised: the machine holds X raised (at the journal's severity,
    ///   if higher) and clears it when the scores say so, with X's id;
    /// - the journal shows X cleared and the machine holds X (or an older alert) raised: it no
    ///   longer holds it, so X is never cleared twice;
    /// - the machine holds an alert raised after X's raise that the journal lacks (the journal is
    ///   behind the checkpoint): kept, it clears normally.
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation {
        switch latest.event {
        case .raised:
            if isRaised, raisedAt == latest.raisedAt {
                if latest.severity <= severity { return .unchanged }
                severity = latest.severity  // the escalation was journaled after the checkpoint
                return .adopted
            }
            adoptRaised(raisedAt: latest.raisedAt, severity: latest.severity)
            return .adopted
        case .cleared:
            guard isRaised else { return .unchanged }
            guard raisedAt <= latest.raisedAt else { return .keptNewer }
            markCleared()
            return .cleared
        }
    }

    // MARK: Snapshot

    /// Writes the exact state (raised or not, severity, `raisedAt`, runs) for `restore(from:)`,
    /// so that an alert raised before a restart is cleared after it with the same id.
    public func write(to w: inout SnapshotWriter) {
        w.write(isRaised)
        w.write(UInt8(severity == .critical ? 1 : 0))
        w.write(raisedAt)
        w.write(anomalousRun)
        w.write(calmRun)
        w.write(runMaxScore)
        w.write(heldFor)
    }

    /// Restores what `write(to:)` wrote (the policy is this machine's own, from its settings).
    /// Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let raised = try r.readBool("alert raised")
        let severityByte = try r.readUInt8("alert severity")
        guard severityByte <= 1 else { throw r.corrupt("alert severity \(severityByte)") }
        let raisedAt = try r.readInt64("alert raisedAt")
        let anomalousRun = try r.readInt("alert anomalous run", in: 0...SnapshotReader.maxCounter)
        let calmRun = try r.readInt("alert calm run", in: 0...SnapshotReader.maxCounter)
        let runMaxScore = try r.readDouble("alert run maximum")
        let heldFor = try r.readInt("alert held for", in: 0...SnapshotReader.maxCounter)
        isRaised = raised
        severity = severityByte == 1 ? .critical : .warning
        self.raisedAt = raisedAt
        self.anomalousRun = anomalousRun
        self.calmRun = calmRun
        self.runMaxScore = runMaxScore
        self.heldFor = heldFor
    }
}

