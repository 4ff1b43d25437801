// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Why a replay cannot stamp its samples: a timestamp it would send does not fit in `Int64`
/// nanoseconds (the wire's representable range ends at 2262-04-11T23:47:16Z).
///
/// A struct around a private code so new reasons can be added; compare `code` against the
/// static members.
public struct ReplayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unrepresentableTimestamp = "unrepresentable timestamp"
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// A shifted or rebased timestamp falls outside the range of `Int64` nanoseconds.
        public static let unrepresentableTimestamp = Code(.unrepresentableTimestamp)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// The 1-based pass of a `--loop` replay it happened in.
    public let pass: Int
    /// What exactly is wrong, for people.
    public let reason: String

    public init(_ code: Code, pass: Int, reason: String) {
        self.code = code
        self.pass = pass
        self.reason = reason
    }

    public var description: String { "replay pass \(pass): \(code): \(reason)" }
}

/// The timestamps a replay sends for the recorded ones, pass after pass of `--loop`.
///
/// - Recorded time (no rebase): pass 1 sends the recorded timestamps; each later pass is shifted
///   to start `gap` after the previous pass's last timestamp, so timestamps keep rising. A
///   recording spanning years moves years per pass, so this ends: the pass whose timestamps would
///   pass the end of `Int64` nanoseconds (in 2262) throws `ReplayError` before sending anything,
///   instead of overflowing. Use rebasing for soaks.
/// - Rebased (`--rebase-time`): samples are stamped on the wall clock. At a paced speed a sample
///   is stamped with the time it is due: the pass's start plus its recorded offset divided by the
///   speed (1x keeps the recorded spacing, 60x compresses it 60 times). As fast as possible, a
///   sample is stamped with the time it is sent. Either way the stamps follow the clock, never run
///   ahead of it (so the daemon's `ingest.max_future` guard lets them in), rise monotonically
///   across passes however many there are, and cannot overflow before the clock does.
///
/// Stamps never decrease within a rebased replay (a later stamp is at least the one before,
/// even if the wall clock steps back). All arithmetic is checked; nothing traps.
///
/// Threading: a plain value, used by the replaying thread.
public struct ReplayTimeline: Sendable {
    /// First and last recorded timestamps of one pass.
    public let first: Int64
    public let last: Int64
    /// Whether samples are stamped on the wall clock.
    public let rebase: Bool
    /// Recorded-time factor: 1 = recorded pace, 0 = as fast as possible.
    public let speed: Double
    /// With recorded time, the distance between one pass's last timestamp and the next pass's first.
    public let gap: Int64

    /// Passes begun so far.
    public private(set) var pass = 0
    private var offset: Int64 = 0
    private var passStart: Int64 = 0
    /// The last stamp handed out (rebased), for monotonicity.
    private var lastStamp: Int64 = .min
    /// The last timestamp of the previous pass (recorded time).
    private var previousLast: Int64?

    public init(first: Int64, last: Int64, rebase: Bool, speed: Double, gap: Int64 = Timestamp.nanosecondsPerSecond) {
        precondition(first <= last && speed >= 0 && speed.isFinite && gap >= 0)
        self.first = first
        self.last = last
        self.rebase = rebase
        self.speed = speed
        self.gap = gap
    }

    /// Begins the next pass at wall-clock `now` (ns since the epoch). Throws when the pass's
    /// timestamps cannot be represented.
    public mutating func beginPass(now: Int64) throws(ReplayError) {
        pass += 1
        if rebase {
            passStart = max(now, lastStamp == .min ? now : lastStamp)
            // The pass's last due stamp must be representable too (paced); as fast as possible,
            // stamps are clock readings.
            if speed > 0 { _ = try due(last) }
            return
        }
        guard let previousLast else { offset = 0; previousLast = last; return }
        // Shift so that this pass starts `gap` after the previous one ended.
        let (start, o1) = previousLast.addingReportingOverflow(gap)
        let (shift, o2) = start.subtractingReportingOverflow(first)
        let (end, o3) = last.addingReportingOverflow(shift)
        guard !o1, !o2, !o3 else {
            throw ReplayError(.unrepresentableTimestamp, pass: pass,
                              reason: "shifting the recording (\(Timestamp.rfc3339(first)) … \(Timestamp.rfc3339(last))) past the previous pass would stamp samples after \(Timestamp.rfc3339(.max)), the last instant Int64 nanoseconds hold; use --rebase-time for long soaks")
        }
        offset = shift
        self.previousLast = end
    }

    /// The timestamp to send for a sample recorded at `recorded` (within this pass's recording),
    /// at wall-clock `now`.
    public mutating func stamp(_ recorded: Int64, now: Int64) throws(ReplayError) -> Int64 {
        if !rebase { return recorded &+ offset }  // within first...last, checked in beginPass
        var t = speed > 0 ? try due(recorded) : now
        if t < lastStamp { t = lastStamp }
        lastStamp = t
        return t
    }

    /// `passStart + (recorded - first) / speed`, checked.
    private func due(_ recorded: Int64) throws(ReplayError) -> Int64 {
        let (elapsed, o1) = recorded.subtractingReportingOverflow(first)
        let scaled = Double(elapsed) / speed
        guard !o1, scaled < 9.2e18 else { throw unrepresentable(recorded) }
        let (t, o2) = passStart.addingReportingOverflow(Int64(scaled))
        guard !o2 else { throw unrepresentable(recorded) }
        return t
    }

    private func unrepresentable(_ recorded: Int64) -> ReplayError {
        ReplayError(.unrepresentableTimestamp, pass: pass,
                    reason: "the sample recorded at \(Timestamp.rfc3339(recorded)), rebased to a pass starting \(Timestamp.rfc3339(passStart)), would be stamped after \(Timestamp.rfc3339(.max))")
    }
}
