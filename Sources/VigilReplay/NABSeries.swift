// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// One data file's ground truth as NAB's scorer sees it: a number of rows and the labelled
/// windows as ranges of row indices.
///
/// NAB works on rows, not on time: a window starts at the row whose timestamp equals the label's
/// start and ends at the row whose timestamp equals the label's end (NAB's labeller refuses a
/// label timestamp that is not exactly a row's), and every position and distance the scorer
/// uses is counted in rows. The first `probation` rows are NAB's probationary period: they are
/// not scored at all (a detection there neither costs nor counts).
///
/// Threading: a value.
public struct NABSeries: Sendable, Equatable {
    /// Names the file in reports and errors (the fixture's relative name).
    public var name: String
    /// Rows in the data file.
    public var rowCount: Int
    /// Labelled windows, in row order, disjoint, both ends inclusive.
    public var windows: [ClosedRange<Int>]

    /// A series of `rowCount` rows with `windows` given as row ranges (in order, disjoint, in range).
    public init(name: String, rowCount: Int, windows: [ClosedRange<Int>]) {
        precondition(rowCount >= 0)
        precondition(windows.allSatisfy { $0.lowerBound >= 0 && $0.upperBound < rowCount }, "a window lies outside the rows")
        precondition(zip(windows, windows.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound }, "windows must be in order and disjoint")
        self.name = name
        self.rowCount = rowCount
        self.windows = windows
    }

    /// Matches `windows` (times) to the rows of a file with `timestamps`: each end is the first
    /// row whose timestamp equals it exactly, as NAB does. `file` names the data file in errors.
    ///
    /// Throws `.labelNotInData` when a window's start or end is not any row's timestamp, when a
    /// window ends on a row before its start, or when windows overlap (NAB's labeller merges
    /// overlapping windows before scoring; its scorer assumes they are disjoint).
    public init(name: String, file: String, timestamps: [Int64], windows: [LabelWindow]) throws(FixtureError) {
        var rows: [ClosedRange<Int>] = []
        for w in windows.sorted(by: { ($0.start, $0.end) < ($1.start, $1.end) }) {
            let span = "window [\(Timestamp.rfc3339(w.start)), \(Timestamp.rfc3339(w.end))]"
            guard let start = timestamps.firstIndex(of: w.start) else {
                throw FixtureError(.labelNotInData, file: file, reason: "the start of labelled \(span) is not the timestamp of any row (NAB matches label timestamps to rows exactly)")
            }
            guard let end = timestamps.firstIndex(of: w.end) else {
                throw FixtureError(.labelNotInData, file: file, reason: "the end of labelled \(span) is not the timestamp of any row (NAB matches label timestamps to rows exactly)")
            }
            guard start <= end else {
                throw FixtureError(.labelNotInData, file: file, reason: "labelled \(span) ends on an earlier row than it starts")
            }
            if let last = rows.last, start <= last.upperBound {
                throw FixtureError(.labelNotInData, file: file, reason: "labelled \(span) overlaps the previous window (NAB scores disjoint windows)")
            }
            rows.append(start...end)
        }
        self.init(name: name, rowCount: timestamps.count, windows: rows)
    }

    /// The series of a labelled fixture (its rows and windows); errors name `fixture.path`.
    public init(_ fixture: Fixture) throws(FixtureError) {
        try self.init(name: fixture.name, file: fixture.path, timestamps: fixture.timestamps, windows: fixture.windows)
    }

    /// Rows at the start that NAB does not score: min(⌊0.15 · rows⌋, 0.15 · 5000), NAB's
    /// probationary period (`probationPercent` 0.15).
    public var probation: Int { Self.probation(rows: rowCount) }

    /// NAB's probationary length for a file of `rows` rows.
    public static func probation(rows: Int) -> Int {
        min(Int((0.15 * Double(rows)).rounded(.down)), 750)
    }
}
