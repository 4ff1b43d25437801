// SPDX-License-Identifier: GPL-3.0-or-later

/// A command's failure at run time (not a usage error): ArgumentParser prints
/// `Error: <description>` and exits 1.
struct CLIError: Error, CustomStringConvertible {
    /// What kind of failure; a struct around a private enum so new kinds can be added.
    struct Code: Hashable, CustomStringConvertible {
        private enum Value: String { case failure, keyFile = "key_file", authentication }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// Anything else that stopped the command.
        static let failure = Code(.failure)
        /// A key file or key argument that cannot be used.
        static let keyFile = Code(.keyFile)
        /// The server refused us, or no CURVE handshake completed in time.
        static let authentication = Code(.authentication)
        var description: String { value.rawValue }
    }

    var code: Code
    var description: String

    init(_ description: String, code: Code = .failure) {
        self.description = description
        self.code = code
    }
}
