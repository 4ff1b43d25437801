// SPDX-License-Identifier: GPL-3.0-or-later

/// Z85 (ZeroMQ RFC 32): 4 bytes as 5 printable characters, the text form of CURVE keys.
///
/// Pure functions, no libzmq: the config loader and the command-line tools check keys with it
/// before any socket exists.
public enum Z85 {
    /// The 85 characters, in digit order.
    public static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

    /// Digit value of each ASCII byte, 0xFF for bytes outside the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Whether `byte` is one of the 85 characters.
    public static func isDigit(_ byte: UInt8) -> Bool { values[Int(byte)] != 0xFF }

    /// The Z85 text of `bytes`, whose count must be a multiple of 4.
    public static func encode(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 4 == 0, "Z85 encodes whole groups of 4 bytes")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 5)
        var i = 0
        while i < bytes.count {
            var value = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
            var group = [UInt8](repeating: 0, count: 5)
            for k in stride(from: 4, through: 0, by: -1) {
                group[k] = alphabet[Int(value % 85)]
                value /= 85
            }
            out += group
            i += 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of Z85 `text`; nil when its length is not a multiple of 5, a character is
    /// outside the alphabet, or a group stands for more than 2³² − 1.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 5 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 5 * 4)
        var i = 0
        while i < chars.count {
            var value: UInt64 = 0
            for k in 0..<5 {
                let digit = values[Int(chars[i + k])]
                guard digit != 0xFF else { return nil }
                value = value * 85 + UInt64(digit)
            }
            guard value <= UInt64(UInt32.max) else { return nil }
            out += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
            i += 5
        }
        return out
    }
}

/// Why a text is not a CURVE key.
public struct CurveKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable { case length, character, range }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// Not 40 characters.
        public static let length = Code(.length)
        /// A character outside the Z85 alphabet.
        public static let character = Code(.character)
        /// A 5-character group above 2³² − 1.
        public static let range = Code(.range)
        /// The code's name.
        public var description: String { value.rawValue }
    }

    /// What is wrong.
    public var code: Code
    /// For operators: `expected 40 Z85 characters, got 39`.
    public var message: String

    /// An error of kind `code`.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Checks that `text` is a 40-character Z85 key and returns its 32 bytes.
private func decodeKey(_ text: some StringProtocol) throws(CurveKeyError) -> [UInt8] {
    for (i, scalar) in text.unicodeScalars.enumerated() where !(scalar.isASCII && Z85.isDigit(UInt8(scalar.value))) {
        let shown = scalar == " " ? "a space" : scalar == "\t" ? "a tab" : "\"\(scalar)\""
        throw CurveKeyError(code: .character, message: "character \(i + 1) (\(shown)) is not in the Z85 alphabet")
    }
    guard text.utf8.count == 40 else {
        throw CurveKeyError(code: .length, message: "expected 40 Z85 characters, got \(text.utf8.count)")
    }
    guard let bytes = Z85.decode(text) else {
        throw CurveKeyError(code: .range, message: "not a valid Z85 encoding (a 5-character group exceeds 2^32 - 1)")
    }
    return bytes
}

/// A CURVE public key (32 bytes, written as 40 Z85 characters): a client in an allow-list, a
/// server a client connects to. Printing it prints the Z85 text (public keys are not secret).
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 key bytes.
    public let bytes: [UInt8]

    /// The key of 40 Z85 characters in `z85`.
    public init(z85: some StringProtocol) throws(CurveKeyError) {
        bytes = try decodeKey(z85)
    }

    /// The key of 32 raw bytes (as a ZAP request carries it).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The 40 Z85 characters.
    public var z85: String { Z85.encode(bytes) }

    public var description: String { z85 }
}

/// A CURVE secret key. Printing it never shows the key (`<secret key>`); `z85` does, for
/// handing it to libzmq.
public struct CurveSecretKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let bytes: [UInt8]

    /// The key of 40 Z85 characters in `z85`.
    public init(z85: some StringProtocol) throws(CurveKeyError) {
        bytes = try decodeKey(z85)
    }

    /// The 40 Z85 characters: pass them to libzmq, never to a log.
    public var z85: String { Z85.encode(bytes) }

    public var description: String { "<secret key>" }
    public var debugDescription: String { "<secret key>" }
}
