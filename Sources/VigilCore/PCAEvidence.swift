// SPDX-License-Identifier: GPL-3.0-or-later

/// One sensor's part in a PCA alert: its position in the asset's vector, its shares of the
/// (smoothed) T² and Q, summed over its lagged copies, and the standardised deviation of its
/// latest value from the baseline mean. Fixed size, no heap storage.
public struct PCAContribution: Sendable, Equatable {
    /// Position of the member in the asset's vector; −1 for an unused slot.
    public var position: Int32
    /// Share of T² in [0, 1].
    public var t2Share: Float
    /// Share of Q in [0, 1].
    public var qShare: Float
    /// `(value − baseline mean) / baseline deviation` of the member's latest value.
    public var z: Float

    public init(position: Int32, t2Share: Float, qShare: Float, z: Float) {
        self.position = position
        self.t2Share = t2Share
        self.qShare = qShare
        self.z = z
    }

    /// An unused slot.
    public static let none = PCAContribution(position: -1, t2Share: 0, qShare: 0, z: 0)
}

/// The evidence of a PCA monitor's alert (`AlertEvidence.pca`): the statistics against their
/// limits and the (up to) three members that contribute most, strongest first. Inline (three
/// fixed slots, no array) so that an alert event stays a plain value on the worker → publisher
/// ring.
public struct PCAEvidence: Sendable, Equatable {
    /// Hotelling's T² on the retained components (exponentially smoothed when the monitor smooths).
    public var t2: Double
    public var t2Limit: Double
    /// The squared prediction error (smoothed like `t2`).
    public var q: Double
    public var qLimit: Double
    /// The contributions, strongest first (unused slots are `.none`).
    public var parts: EvidenceSlots<PCAContribution>
    public var first: PCAContribution { get { parts.first } set { parts.first = newValue } }
    public var second: PCAContribution { get { parts.second } set { parts.second = newValue } }
    public var third: PCAContribution { get { parts.third } set { parts.third = newValue } }

    /// The number of contribution slots.
    public static let slots = EvidenceSlots<PCAContribution>.count

    public init(t2: Double, t2Limit: Double, q: Double, qLimit: Double,
                first: PCAContribution = .none, second: PCAContribution = .none, third: PCAContribution = .none) {
        self.t2 = t2
        self.t2Limit = t2Limit
        self.q = q
        self.qLimit = qLimit
        parts = EvidenceSlots(first, second, third)
    }

    /// Slot `i` (0, 1 or 2).
    public subscript(i: Int) -> PCAContribution {
        get { parts[i] }
        set { parts[i] = newValue }
    }

    /// The used slots, strongest first (allocates: for the publisher and tools, not the worker).
    public var contributions: [PCAContribution] {
        [first, second, third].filter { $0.position >= 0 }
    }
}

/// Three values stored inline (no heap storage), for evidence that names up to three parts
/// (the members of a PCA alert, the terms of a relation alert), strongest first.
public struct EvidenceSlots<Element: Sendable & Equatable>: Sendable, Equatable {
    public var first: Element
    public var second: Element
    public var third: Element

    /// The number of slots.
    public static var count: Int { 3 }

    public init(_ first: Element, _ second: Element, _ third: Element) {
        self.first = first
        self.second = second
        self.third = third
    }

    /// Slot `i` (0, 1 or 2).
    public subscript(i: Int) -> Element {
        get {
            switch i {
            case 0: first
            case 1: second
            default: third
            }
        }
        set {
            switch i {
            case 0: first = newValue
            case 1: second = newValue
            default: third = newValue
            }
        }
    }
}
