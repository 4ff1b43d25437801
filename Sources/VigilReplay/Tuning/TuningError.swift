// SPDX-License-Identifier: GPL-3.0-or-later

/// Why `vigil eval --tune` cannot run on the files it was given (problems with the space file
/// itself are `ConfigError`s with a position).
public struct TuningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case noLabelledFiles = "no_labelled_files"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// None of the files has ground truth, so no settings can be scored.
        public static let noLabelledFiles = Code(.noLabelledFiles)

        /// The code's snake_case name.
        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// For people.
    public var message: String

    /// An error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `vigil eval --tune: <message>`.
    public var description: String { "vigil eval --tune: \(message)" }
}
