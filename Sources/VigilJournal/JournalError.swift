// SPDX-License-Identifier: GPL-3.0-or-later

/// A failed journal operation: what failed (`code`), the SQLite result code, the statement or
/// call, and `sqlite3_errmsg`.
///
/// Every failed write leaves the journal as it was before the batch (the transaction is rolled
/// back), so the same or the next batch can be written once the cause is gone.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// What kind of operation failed; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case open, schema, write, read, delete, permissions
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file could not be created or opened (`sqlite3_open_v2`).
        public static let open = Code(.open)
        /// The tables could not be created or migrated.
        public static let schema = Code(.schema)
        /// A batch of alerts could not be written (nothing of it was kept).
        public static let write = Code(.write)
        /// A query failed.
        public static let read = Code(.read)
        /// Retention could not delete old alerts.
        public static let delete = Code(.delete)
        /// The file's mode could not be restricted to its owner.
        public static let permissions = Code(.permissions)

        /// The code's name.
        public var description: String { value.rawValue }
    }

    /// What failed.
    public var code: Code
    /// SQLite's (extended) result code, or `errno` for `.permissions`.
    public var resultCode: Int32
    /// The statement or call that failed.
    public var operation: String
    /// `sqlite3_errmsg` (or `strerror`).
    public var message: String

    /// An error of `code`.
    public init(_ code: Code, resultCode: Int32, operation: String, message: String) {
        self.code = code
        self.resultCode = resultCode
        self.operation = operation
        self.message = message
    }

    /// `journal: <operation>: <message> (sqlite <code>)`.
    public var description: String {
        code == .permissions ? "journal: \(operation): \(message) (errno \(resultCode))"
            : "journal: \(operation): \(message) (sqlite \(resultCode))"
    }
}
