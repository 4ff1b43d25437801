// SPDX-License-Identifier: GPL-3.0-or-later

/// Everything wrong with a configuration file, found in one pass.
///
/// `description` prints one `file:line:column: key.path: message` line per problem, in file order,
/// ready for `vigil check-config` and the daemon's startup log.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, in the order they appear in the file. Never empty.
    public var problems: [ConfigProblem]

    /// Wraps `problems` (at least one).
    public init(problems: [ConfigProblem]) {
        precondition(!problems.isEmpty, "a ConfigError needs at least one problem")
        self.problems = problems
    }

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// One problem in a configuration file: where it is, which key, and what is wrong.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case unreadableFile = "unreadable_file"
            case syntax
            case unknownKey = "unknown_key"
            case missingKey = "missing_key"
            case wrongType = "wrong_type"
            case outOfRange = "out_of_range"
            case invalidValue = "invalid_value"
            case inconsistent
            case duplicate
            case insecurePermissions = "insecure_permissions"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file (or a file it names, such as a key file) is missing, unreadable, a directory, or
        /// not UTF-8.
        public static let unreadableFile = Code(.unreadableFile)
        /// The text is not valid YAML (or repeats a key in one mapping).
        public static let syntax = Code(.syntax)
        /// A key the configuration does not know (the message suggests the closest known one).
        public static let unknownKey = Code(.unknownKey)
        /// A required key is absent.
        public static let missingKey = Code(.missingKey)
        /// A value of the wrong kind: a string where a number belongs, a list where a mapping does.
        public static let wrongType = Code(.wrongType)
        /// A number outside its allowed range.
        public static let outOfRange = Code(.outOfRange)
        /// A value of the right kind that is not acceptable: an unknown enum case, a malformed
        /// endpoint, glob or address.
        public static let invalidValue = Code(.invalidValue)
        /// Values that are each fine but contradict one another (`warmup` > `window`,
        /// `critical` < `threshold`).
        public static let inconsistent = Code(.inconsistent)
        /// A value that must be unique appears twice (an endpoint, an asset name).
        public static let duplicate = Code(.duplicate)
        /// A file the configuration names has permissions that defeat its purpose: a secret key
        /// that group or others may read, an authorized-keys list that they may write.
        public static let insecurePermissions = Code(.insecurePermissions)

        /// The code's snake_case name.
        public var description: String { value.rawValue }
    }

    /// What kind of problem it is.
    public var code: Code
    /// The file as given to `load(path:)` or `parse(yaml:file:)`.
    public var file: String
    /// 1-based line of the offending key or value; 0 when the problem has no position
    /// (an unreadable file).
    public var line: Int
    /// 1-based column, counted in Unicode scalars; 0 when the problem has no position.
    public var column: Int
    /// Dotted path of the offending key, with list indices: `detectors.zscore.window`,
    /// `sensors[2].zscore.threshold`, `ingest.endpoints[1]`. Empty for file-level problems.
    public var keyPath: String
    /// What is wrong, for operators: `expected an integer ≥ 2, got "abc"`.
    public var message: String

    /// Makes a problem.
    public init(code: Code, file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `file:line:column: key.path: message` (position and path left out when absent).
    public var description: String {
        var s = file
        if line > 0 { s += ":\(line):\(column)" }
        s += ": "
        if !keyPath.isEmpty { s += keyPath + ": " }
        return s + message
    }
}
