// SPDX-License-Identifier: GPL-3.0-or-later

/// Why a snapshot could not be read. Reading a snapshot never traps: every bad byte ends here.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public enum Reason: Equatable, Sendable {
        /// The bytes end before a value that should be there.
        case truncated
        /// The file does not start with the snapshot magic (not a snapshot).
        case badMagic
        /// A snapshot of a format version this build cannot read.
        case unsupportedVersion(UInt32)
        /// The payload's checksum does not match (bytes changed after writing).
        case checksumMismatch
        /// A value is out of range or inconsistent with the detector it is restored into.
        case corrupt
    }

    /// The kind of problem.
    public var reason: Reason
    /// Byte offset at which it was found.
    public var offset: Int
    /// What was being read.
    public var detail: String

    public init(_ reason: Reason, offset: Int, _ detail: String) {
        self.reason = reason
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated: what = "truncated"
        case .badMagic: what = "not a detector snapshot (bad magic)"
        case .unsupportedVersion(let v): what = "unsupported snapshot version \(v)"
        case .checksumMismatch: what = "checksum mismatch"
        case .corrupt: what = "corrupt"
        }
        return "detector snapshot \(what) at byte \(offset): \(detail)"
    }
}

/// Appends little-endian binary values to a byte array: the encoder of the detector snapshot.
///
/// Integers are fixed width, doubles are their IEEE 754 bit patterns (so values round-trip bit
/// for bit, NaN payloads and signed zeros included), strings and arrays are prefixed by a `UInt32`
/// count.
///
/// Threading: a plain value; used off the sample path (at shutdown) by one thread at a time.
public struct SnapshotWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A writer that appends into `buffer`'s storage (emptied first, its capacity kept), so that
    /// a recycled buffer is reused instead of allocating and faulting in a new one.
    public init(reusing buffer: [UInt8]) {
        bytes = buffer
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func write(_ v: UInt8) { bytes.append(v) }
    public mutating func write(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func write(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ v: Int64) { write(UInt64(bitPattern: v)) }
    /// An `Int` as 64 bits.
    public mutating func write(_ v: Int) { write(Int64(v)) }
    public mutating func write(_ v: Double) { write(v.bitPattern) }

    /// A `UInt32` count followed by the UTF-8 bytes.
    public mutating func write(_ s: String) {
        let utf8 = Array(s.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A `UInt32` count followed by the values (copied in one block on little-endian hosts).
    public mutating func write(_ values: [Double]) {
        write(UInt32(values.count))
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        bytes.reserveCapacity(bytes.count + 8 * values.count)
        for v in values { write(v) }
        #endif
    }

    /// A `UInt32` count followed by one byte per value.
    public mutating func write(_ values: [Bool]) {
        write(UInt32(values.count))
        for v in values { write(v) }
    }

    /// A `UInt32` length followed by raw bytes (a nested record).
    public mutating func writeBlock(_ block: [UInt8]) {
        write(UInt32(block.count))
        bytes.append(contentsOf: block)
    }

    /// Raw bytes, no prefix.
    public mutating func writeRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    /// Raw bytes, no prefix.
    public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// Starts a length-prefixed block written in place (no intermediate array): writes a
    /// placeholder length and returns where it is, for `endBlock(_:)`.
    public mutating func beginBlock() -> Int {
        let at = bytes.count
        write(UInt32(0))
        return at
    }

    /// Ends the block `beginBlock()` started: patches its length to the bytes written since.
    public mutating func endBlock(_ at: Int) {
        patch(UInt32(bytes.count - at - 4), at: at)
    }

    /// Overwrites the four bytes at `at` with `v` (little-endian).
    public mutating func patch(_ v: UInt32, at: Int) {
        precondition(at >= 0 && at + 4 <= bytes.count)
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
    }

    /// Bytes written so far.
    public var count: Int { bytes.count }

    /// Reserves room for `n` more bytes.
    public mutating func reserve(_ n: Int) { bytes.reserveCapacity(bytes.count + n) }

    /// Hands over the bytes written so far and starts empty (keeping nothing).
    public mutating func take() -> [UInt8] {
        let out = bytes
        bytes = []
        return out
    }
}

/// Reads what `SnapshotWriter` wrote, checking every read against the end of the bytes.
///
/// Every read throws `SnapshotError` (`.truncated` past the end, `.corrupt` for a count that
/// cannot fit in the rest of the bytes or an invalid value) instead of trapping, so a damaged file
/// is reported, never a crash. Counts are checked before anything is allocated.
///
/// Threading: a plain value, used by one thread (at start-up, before the workers run).
public struct SnapshotReader: Sendable {
    public let bytes: [UInt8]
    /// The largest counter a restore accepts (2⁶²): far beyond any real run, and far enough from
    /// `Int.max` that counting on from it never overflows.
    public static let maxCounter = 1 << 62
    /// Offset of the next byte to read.
    public private(set) var offset: Int
    /// End of the readable range.
    public let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
    }

    /// A reader of `bytes[range]` (offsets in errors stay relative to `bytes`).
    public init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        self.bytes = bytes
        offset = range.lowerBound
        end = range.upperBound
    }

    /// Bytes left.
    public var remaining: Int { end - offset }
    /// A copy of the bytes left (not consumed).
    public var remainingBytes: [UInt8] { Array(bytes[offset..<end]) }
    /// Whether everything was read.
    public var isAtEnd: Bool { offset == end }

    private mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws(SnapshotError) -> Int {
        guard n >= 0, n <= remaining else {
            throw SnapshotError(.truncated, offset: offset, "\(what()): needs \(n) bytes, \(remaining) left")
        }
        let at = offset
        offset += n
        return at
    }

    public mutating func readUInt8(_ what: @autoclosure () -> String = "byte") throws(SnapshotError) -> UInt8 {
        bytes[try take(1, what())]
    }

    public mutating func readBool(_ what: @autoclosure () -> String = "flag") throws(SnapshotError) -> Bool {
        let at = offset
        switch try readUInt8(what()) {
        case 0: return false
        case 1: return true
        case let b: throw SnapshotError(.corrupt, offset: at, "\(what()): \(b) is not a boolean")
        }
    }

    public mutating func readUInt32(_ what: @autoclosure () -> String = "uint32") throws(SnapshotError) -> UInt32 {
        let at = try take(4, what())
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    public mutating func readUInt64(_ what: @autoclosure () -> String = "uint64") throws(SnapshotError) -> UInt64 {
        let at = try take(8, what())
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }

    public mutating func readInt64(_ what: @autoclosure () -> String = "int64") throws(SnapshotError) -> Int64 {
        Int64(bitPattern: try readUInt64(what()))
    }

    /// An `Int` written as 64 bits, required to lie in `range`.
    public mutating func readInt(_ what: @autoclosure () -> String = "int", in range: ClosedRange<Int> = Int.min...Int.max) throws(SnapshotError) -> Int {
        let at = offset
        let v = Int(try readInt64(what()))
        guard range.contains(v) else {
            throw SnapshotError(.corrupt, offset: at, "\(what()): \(v) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    public mutating func readDouble(_ what: @autoclosure () -> String = "double") throws(SnapshotError) -> Double {
        Double(bitPattern: try readUInt64(what()))
    }

    /// A finite double.
    public mutating func readFinite(_ what: @autoclosure () -> String = "double") throws(SnapshotError) -> Double {
        let at = offset
        let v = try readDouble(what())
        guard v.isFinite else { throw SnapshotError(.corrupt, offset: at, "\(what()): \(v) is not finite") }
        return v
    }

    /// A count of elements of `size` bytes each that must fit in the remaining bytes.
    public mutating func readCount(_ what: @autoclosure () -> String, elementSize: Int) throws(SnapshotError) -> Int {
        let at = offset
        let n = Int(try readUInt32(what()))
        guard n * elementSize <= remaining else {
            throw SnapshotError(.truncated, offset: at, "\(what()): \(n) elements do not fit in \(remaining) bytes")
        }
        return n
    }

    public mutating func readString(_ what: @autoclosure () -> String = "string") throws(SnapshotError) -> String {
        let n = try readCount(what(), elementSize: 1)
        let at = try take(n, what())
        guard let s = String(validating: bytes[at..<(at + n)], as: UTF8.self) else {
            throw SnapshotError(.corrupt, offset: at, "\(what()): not UTF-8")
        }
        return s
    }

    /// An array of doubles; when `count` is given the stored count must equal it.
    public mutating func readDoubles(_ what: @autoclosure () -> String = "doubles", count expected: Int? = nil) throws(SnapshotError) -> [Double] {
        let at = offset
        let n = try readCount(what(), elementSize: 8)
        if let expected, n != expected {
            throw SnapshotError(.corrupt, offset: at, "\(what()): \(n) values where \(expected) are expected")
        }
        #if _endian(little)
        let start = try take(8 * n, what())
        return [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + 8 * n)]))
            }
            initialized = n
        }
        #else
        var values = [Double](repeating: 0, count: n)
        for k in 0..<n { values[k] = try readDouble(what()) }
        return values
        #endif
    }

    /// An array of booleans; when `count` is given the stored count must equal it.
    public mutating func readBools(_ what: @autoclosure () -> String = "flags", count expected: Int? = nil) throws(SnapshotError) -> [Bool] {
        let at = offset
        let n = try readCount(what(), elementSize: 1)
        if let expected, n != expected {
            throw SnapshotError(.corrupt, offset: at, "\(what()): \(n) values where \(expected) are expected")
        }
        var values = [Bool](repeating: false, count: n)
        for k in 0..<n { values[k] = try readBool(what()) }
        return values
    }

    /// A length-prefixed nested record, as a reader of its own bytes.
    public mutating func readBlock(_ what: @autoclosure () -> String = "record") throws(SnapshotError) -> SnapshotReader {
        let n = try readCount(what(), elementSize: 1)
        let at = try take(n, what())
        return SnapshotReader(bytes, range: at..<(at + n))
    }

    /// Skips `n` bytes.
    public mutating func skip(_ n: Int, _ what: @autoclosure () -> String = "bytes") throws(SnapshotError) {
        _ = try take(n, what())
    }

    /// Throws `.corrupt` at the current offset.
    public func corrupt(_ detail: String) -> SnapshotError {
        SnapshotError(.corrupt, offset: offset, detail)
    }

    /// Requires that everything was read (a record longer than its contents is corrupt).
    public func expectEnd(_ what: @autoclosure () -> String) throws(SnapshotError) {
        guard isAtEnd else { throw SnapshotError(.corrupt, offset: offset, "\(what()): \(remaining) unexpected trailing bytes") }
    }
}

/// The checksum of a version-2 snapshot section: four interleaved 64-bit multiply-xorshift lanes
/// over little-endian 64-bit words (32 bytes a round, so the multiplications overlap), then the
/// tail words and bytes, folded together and seeded with the length. Not cryptographic: it detects
/// torn writes and flipped bits many times faster than byte-wise FNV-1a, which matters for a
/// 300 MB checkpoint written and read within a second.
public func snapshotChecksum(_ p: UnsafeRawBufferPointer) -> UInt64 {
    let k: UInt64 = 0x9E37_79B9_7F4A_7C15
    let n = p.count
    var a: UInt64 = 0xCBF2_9CE4_8422_2325 ^ (UInt64(n) &* k)
    var b: UInt64 = 0x84CA_A73B_FE09_4A69
    var c: UInt64 = 0x3C6E_F372_FE94_F82B
    var d: UInt64 = 0xA54F_F53A_5F1D_36F1
    guard let base = p.baseAddress else { return a }
    var i = 0
    @inline(__always) func word(_ at: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    while i + 32 <= n {
        a = (a ^ word(i)) &* k; a ^= a >> 31
        b = (b ^ word(i + 8)) &* k; b ^= b >> 31
        c = (c ^ word(i + 16)) &* k; c ^= c >> 31
        d = (d ^ word(i + 24)) &* k; d ^= d >> 31
        i += 32
    }
    var h = a ^ (b &* 3) ^ (c &* 5) ^ (d &* 7)
    while i + 8 <= n {
        h = (h ^ word(i)) &* k
        h ^= h >> 31
        i += 8
    }
    while i < n {
        h = (h ^ UInt64(p[i])) &* k
        h ^= h >> 31
        i += 1
    }
    h ^= h >> 29
    h = h &* 0xBF58_476D_1CE4_E5B9
    return h ^ (h >> 32)
}

/// `snapshotChecksum` of an array's bytes.
public func snapshotChecksum(_ bytes: [UInt8]) -> UInt64 {
    bytes.withUnsafeBytes { snapshotChecksum($0) }
}

/// 64-bit FNV-1a over bytes (the snapshot's checksum and the settings fingerprint).
@inlinable
public func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return h
}
