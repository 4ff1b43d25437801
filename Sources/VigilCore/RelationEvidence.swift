// SPDX-License-Identifier: GPL-3.0-or-later

/// One term's part in a relation alert: which term of the expression, its recent value, its
/// in-control baseline and how far it moved, in units of the residual's in-control deviation.
/// Fixed size, no heap storage.
public struct RelationTermShift: Sendable, Equatable {
    /// Index of the term in the expression (−1: an unused slot).
    public var term: Int32
    /// How far the term moved: `(recent − baseline) / residual deviation`, signed.
    public var shift: Float
    /// The term's recent value (exponentially smoothed over the last rounds; single precision
    /// keeps the alert event small).
    public var value: Float
    /// The term's in-control mean.
    public var baseline: Float

    public init(term: Int32, shift: Float, value: Float, baseline: Float) {
        self.term = term
        self.shift = shift
        self.value = value
        self.baseline = baseline
    }

    /// An unused slot.
    public static let none = RelationTermShift(term: -1, shift: 0, value: 0, baseline: 0)
}

/// What a relation's residual alert adds to its detector's evidence: the residual against its
/// in-control level and the (up to) three terms that moved most, largest first. Inline (three
/// fixed slots) so that an alert event stays a plain value on the worker → publisher ring.
public struct RelationEvidence: Sendable, Equatable {
    /// The recent residual (smoothed like the terms).
    public var residual: Double
    /// The residual's in-control mean (near 0 while the relation holds).
    public var expected: Double
    /// The residual's in-control standard deviation.
    public var scale: Double
    /// The terms that moved most, largest first (unused slots are `.none`).
    public var terms: EvidenceSlots<RelationTermShift>
    public var first: RelationTermShift { terms.first }
    public var second: RelationTermShift { terms.second }
    public var third: RelationTermShift { terms.third }

    /// The number of term slots.
    public static let slots = EvidenceSlots<RelationTermShift>.count

    public init(residual: Double, expected: Double, scale: Double, terms: EvidenceSlots<RelationTermShift> = .init(.none, .none, .none)) {
        self.residual = residual
        self.expected = expected
        self.scale = scale
        self.terms = terms
    }

    /// Slot `i` (0, 1 or 2).
    public subscript(i: Int) -> RelationTermShift {
        get { terms[i] }
        set { terms[i] = newValue }
    }

    /// The used slots, largest move first.
    public var moved: [RelationTermShift] { (0..<Self.slots).map { self[$0] }.filter { $0.term >= 0 } }
}
