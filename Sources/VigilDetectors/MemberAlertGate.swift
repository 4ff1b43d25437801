// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// How the per-sensor alerts of an asset's members relate to the asset's monitor
/// (`grouping.member_alerts`).
public enum MemberAlerts: String, Sendable, Equatable, CaseIterable {
    /// A member alerts on its own only while its asset has no PCA monitor that monitors (warming
    /// up, too wide, disabled): once it monitors, the joint model explains what the members do
    /// together (an operating-point change moves them all), and an alert of the asset, whose
    /// evidence names the members that moved, takes the place of their own.
    case whileLearning = "while_learning"
    /// Every member alerts on its own as well, as a sensor outside every asset does.
    case always
}

/// Passes or holds back the alert events of one asset member (`MemberAlerts.whileLearning`):
/// an alert is published if it is raised while `open`, and then its escalation and its clear
/// are published too, whatever the gate says by then; an alert raised while closed is never
/// published, nor its escalation or clear. So a subscriber always sees whole alerts.
///
/// Threading: a value owned with the member's `SensorDetectors`; no allocation.
public struct MemberAlertGate: Sendable, Equatable {
    /// Bit per detector kind: its current alert was published.
    private var published: UInt8 = 0

    /// A gate whose `published` detectors' current alerts count as published (a chain restored
    /// from a snapshot: its raised alerts were published, or held back and reconciled, and must
    /// still clear).
    public init(published kinds: [DetectorKind] = []) {
        for kind in kinds { published |= Self.bit(kind) }
    }

    @inline(__always)
    private static func bit(_ kind: DetectorKind) -> UInt8 {
        1 << UInt8(DetectorKind.allCases.firstIndex(of: kind)!)
    }

    /// Whether `event` is to be published; `open` says whether a new alert may be.
    public mutating func pass(_ event: AlertEvent, open: Bool) -> Bool {
        let bit = Self.bit(event.detector)
        switch event.event {
        case .raised:
            if published & bit != 0 { return true }
            guard open else { return false }
            published |= bit
            return true
        case .cleared:
            guard published & bit != 0 else { return false }
            published &= ~bit
            return true
        }
    }
}
