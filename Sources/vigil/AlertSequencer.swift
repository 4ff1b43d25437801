// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Puts alerts from two sources, the live feed and the history endpoint, into one stream by
/// `seq`: each seq once, in order, none skipped while the journal has it.
///
/// `next` is the first seq not yet handed out. A live alert below it is a duplicate; at it, it
/// is next; above it, the alerts in between were dropped at the publisher's high-water mark (or
/// published before the subscription took effect) and must come from history first (`gap`).
///
/// Threading: a value owned by the tail loop.
struct AlertSequencer {
    /// What to do with a live alert.
    enum Decision: Equatable {
        /// Show it now.
        case show
        /// Already handed out (from history or earlier): drop it.
        case duplicate
        /// Alerts `next` up to the live one's seq − 1 are missing: fetch them from history, pass
        /// them to `history(_:)`, then offer the live alert again.
        case gap(from: UInt64, through: UInt64)
    }

    /// The first seq not yet handed out; nil until the first alert or a known starting point.
    private(set) var next: UInt64?

    init(next: UInt64? = nil) {
        self.next = next
    }

    /// Decides about one live alert; `.show` advances `next` past it.
    mutating func live(_ r: AlertRecord) -> Decision {
        guard let n = next else {
            next = r.seq + 1
            return .show
        }
        if r.seq < n { return .duplicate }
        if r.seq == n {
            next = n + 1
            return .show
        }
        return .gap(from: n, through: r.seq - 1)
    }

    /// Takes alerts from history (by rising seq) and returns those not handed out yet, in order,
    /// advancing `next` past the last one.
    mutating func history(_ rows: [AlertRecord]) -> [AlertRecord] {
        var out: [AlertRecord] = []
        for r in rows where next == nil || r.seq >= next! {
            out.append(r)
            next = r.seq + 1
        }
        return out
    }

    /// Gives up on `from…through` (history no longer has them: deleted by retention): the stream
    /// continues after `through`.
    mutating func skip(through: UInt64) {
        if next == nil || through + 1 > next! { next = through + 1 }
    }

    /// Moves the starting point to `seq + 1` (history's head when starting without `--since`).
    mutating func start(after seq: UInt64) {
        if next == nil || seq + 1 > next! { next = seq + 1 }
    }
}
