// SPDX-License-Identifier: GPL-3.0-or-later

/// Why a fixture or a labels file could not be read: the file, the 1-based line (0 when the
/// problem is not tied to a line) and a readable reason.
///
/// A struct around a private code so new reasons can be added without breaking callers; compare
/// `code` against the static members (`error.code == .badNumber`).
public struct FixtureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case missingFile = "missing file"
            case unreadable = "unreadable file"
            case badHeader = "bad header"
            case badNumber = "bad number"
            case badTimestamp = "bad timestamp"
            case wrongColumnCount = "wrong number of columns"
            case badLabel = "bad label"
            case badLabelsFile = "bad labels file"
            case cannotWrite = "cannot write"
            case labelNotInData = "label not in data"
            case resultsMismatch = "results do not match the data"
            case conflictingOutputs = "conflicting outputs"
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The path does not exist.
        public static let missingFile = Code(.missingFile)
        /// The path exists but could not be read (permissions, a directory where a file was expected…).
        public static let unreadable = Code(.unreadable)
        /// The header row is missing, empty, has duplicate or empty names, or lacks the expected columns.
        public static let badHeader = Code(.badHeader)
        /// A value cell is not a number.
        public static let badNumber = Code(.badNumber)
        /// A timestamp cell is in none of the forms `Timestamp.parse` accepts.
        public static let badTimestamp = Code(.badTimestamp)
        /// A row has more or fewer cells than the header.
        public static let wrongColumnCount = Code(.wrongColumnCount)
        /// An `anomaly` or `changepoint` cell is not 0 or 1.
        public static let badLabel = Code(.badLabel)
        /// A labels JSON file is not a map of file → list of `[start, end]` pairs.
        public static let badLabelsFile = Code(.badLabelsFile)
        /// An output file (results, scores, plot) could not be written.
        public static let cannotWrite = Code(.cannotWrite)
        /// A labelled window's start or end is not the timestamp of any row of its data file
        /// (NAB matches label timestamps to rows exactly), or the windows are out of order or overlap.
        public static let labelNotInData = Code(.labelNotInData)
        /// A NAB results file is missing a column or its rows do not line up with its data file's.
        public static let resultsMismatch = Code(.resultsMismatch)
        /// Two inputs would write the same output file.
        public static let conflictingOutputs = Code(.conflictingOutputs)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// The file, as given by the caller.
    public let file: String
    /// 1-based line in the file, 0 when the problem concerns the whole file.
    public let line: Int
    /// What exactly is wrong, for people.
    public let reason: String

    /// Creates an error; `line` is 1-based (0 = whole file).
    public init(_ code: Code, file: String, line: Int = 0, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: code: reason`, the form compilers use so editors can jump to it.
    public var description: String {
        line > 0 ? "\(file):\(line): \(code): \(reason)" : "\(file): \(code): \(reason)"
    }
}
