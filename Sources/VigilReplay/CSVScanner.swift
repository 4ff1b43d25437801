// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore

/// Byte-level scanning of delimited text, shared by the fixture readers.
///
/// Works on the file's bytes without building a `String` per line or per cell: a row is a list
/// of cell ranges into the buffer. Handles a UTF-8 byte-order mark, `\n` and `\r\n` line ends,
/// blank lines (skipped), spaces around cells and double-quoted cells (which may contain the
/// delimiter; `""` is an escaped quote). Quoted cells spanning lines are not supported.
struct CSVScanner {
    /// The cell that a number or timestamp parse reports on.
    enum Cell {
        case empty
        case value(Double)
        /// NaN or ±infinity: skipped and counted, as ingest drops non-finite values.
        case nonFinite
        case invalid
    }

    let bytes: [UInt8]
    let file: String
    /// `,` or `;`, chosen from the header line (whichever occurs more often outside quotes).
    let delimiter: UInt8
    /// Header cells, unquoted and trimmed.
    let header: [String]
    /// 1-based line of the header.
    let headerLine: Int
    /// Byte offset of the first data line.
    let dataStart: Int

    /// Reads `path` and its header. `displayName` names the file in errors.
    init(path: String, displayName: String) throws(FixtureError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FixtureError(.missingFile, file: displayName, reason: "no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError(.unreadable, file: displayName, reason: isDirectory.boolValue ? "is a directory" : "cannot be read")
        }
        try self.init(bytes: [UInt8](data), displayName: displayName)
    }

    /// Scans `bytes` (the whole file) and its header.
    init(bytes: [UInt8], displayName: String) throws(FixtureError) {
        self.bytes = bytes
        self.file = displayName
        var pos = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
        // The first non-blank line is the header.
        var line = 0
        var headerRange = pos..<pos
        while pos < bytes.count {
            line += 1
            var end = pos
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            let next = end < bytes.count ? end + 1 : end
            var e = end
            if e > pos, bytes[e - 1] == 0x0D { e -= 1 }
            if !Self.isBlank(bytes, pos, e) { headerRange = pos..<e; pos = next; break }
            pos = next
        }
        guard !headerRange.isEmpty else {
            throw FixtureError(.badHeader, file: displayName, line: max(line, 1), reason: "the file is empty: expected a header row")
        }
        headerLine = line
        dataStart = pos
        // Delimiter: the more frequent of , and ; outside quotes.
        var commas = 0, semicolons = 0, quoted = false
        for i in headerRange {
            switch bytes[i] {
            case 0x22: quoted.toggle()
            case 0x2C where !quoted: commas += 1
            case 0x3B where !quoted: semicolons += 1
            default: break
            }
        }
        let delimiter: UInt8 = semicolons > commas ? 0x3B : 0x2C
        self.delimiter = delimiter
        var ranges: [Range<Int>] = []
        Self.split(bytes, headerRange.lowerBound, headerRange.upperBound, delimiter, into: &ranges)
        header = ranges.map { Self.unquotedString(bytes, $0) }
    }

    /// Calls `body` with each data row's 1-based line number and its cell ranges (trimmed, quotes
    /// removed). Blank lines are skipped. Stops at the first error `body` throws.
    func forEachRow(_ body: (_ buffer: UnsafeBufferPointer<UInt8>, _ line: Int, _ cells: [Range<Int>]) throws(FixtureError) -> Void) throws(FixtureError) {
        var cells: [Range<Int>] = []
        cells.reserveCapacity(header.count + 1)
        let result: FixtureError? = bytes.withUnsafeBufferPointer { buf -> FixtureError? in
            var pos = dataStart
            var line = headerLine
            let n = buf.count
            while pos < n {
                line += 1
                var end = pos
                while end < n, buf[end] != 0x0A { end += 1 }
                let next = end < n ? end + 1 : end
                var e = end
                if e > pos, buf[e - 1] == 0x0D { e -= 1 }
                if !Self.isBlank(buf, pos, e) {
                    Self.split(buf, pos, e, delimiter, into: &cells)
                    do throws(FixtureError) { try body(buf, line, cells) } catch { return error }
                }
                pos = next
            }
            return nil
        }
        if let result { throw result }
    }

    // MARK: - Cells

    @inline(__always)
    static func isBlank<B: RandomAccessCollection<UInt8>>(_ b: B, _ start: Int, _ end: Int) -> Bool where B.Index == Int {
        var i = start
        while i < end {
            let c = b[i]
            if c != 0x20, c != 0x09, c != 0x0D { return false }
            i += 1
        }
        return true
    }

    /// Splits `start..<end` at unquoted delimiters into trimmed, unquoted cell ranges.
    @inline(__always)
    static func split<B: RandomAccessCollection<UInt8>>(_ b: B, _ start: Int, _ end: Int, _ delimiter: UInt8, into cells: inout [Range<Int>]) where B.Index == Int {
        cells.removeAll(keepingCapacity: true)
        var i = start
        while true {
            var s = i
            var quoted = false
            while i < end {
                let c = b[i]
                if c == 0x22 { quoted.toggle() } else if c == delimiter, !quoted { break }
                i += 1
            }
            var e = i
            while s < e, b[s] == 0x20 || b[s] == 0x09 { s += 1 }
            while e > s, b[e - 1] == 0x20 || b[e - 1] == 0x09 { e -= 1 }
            if e - s >= 2, b[s] == 0x22, b[e - 1] == 0x22 { s += 1; e -= 1 }
            cells.append(s..<e)
            if i >= end { break }
            i += 1  // past the delimiter
        }
    }

    /// The text of a cell with `""` unescaped.
    static func unquotedString(_ b: [UInt8], _ r: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var i = r.lowerBound
        while i < r.upperBound {
            out.append(b[i])
            if b[i] == 0x22, i + 1 < r.upperBound, b[i + 1] == 0x22 { i += 1 }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Text of a cell for error messages (at most 40 bytes).
    static func excerpt(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        let end = min(r.upperBound, r.lowerBound + 40)
        let s = String(decoding: UnsafeBufferPointer(rebasing: b[r.lowerBound..<end]), as: UTF8.self)
        return end < r.upperBound ? s + "…" : s
    }

    /// Parses a timestamp cell with `Timestamp.parse`, the one timestamp parser of Vigil.
    @inline(__always)
    static func timestamp(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
        Timestamp.parse(UnsafeBufferPointer(rebasing: b[r]))
    }

    private static let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    /// Parses a number cell. Plain decimals with at most 15 significant digits and small
    /// exponents take an exact fast path (the value is correctly rounded: both the mantissa and
    /// the power of ten are exact doubles, Clinger 1990); everything else goes through the
    /// standard library's `Double(_:)`. `decimalComma` accepts `1,5` for 1.5 (`;`-separated files).
    @inline(__always)
    static func number(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, decimalComma: Bool) -> Cell {
        var i = r.lowerBound
        let end = r.upperBound
        if i == end { return .empty }
        var negative = false
        if b[i] == 0x2D { negative = true; i += 1 } else if b[i] == 0x2B { i += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var anyDigit = false
        while i < end, b[i] &- 0x30 < 10 {
            anyDigit = true
            if mantissa != 0 || b[i] != 0x30 { significant += 1 }
            if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 0x30) } else { exponent += 1 }
            i += 1
        }
        if i < end, b[i] == 0x2E || (decimalComma && b[i] == 0x2C) {
            i += 1
            while i < end, b[i] &- 0x30 < 10 {
                anyDigit = true
                if mantissa != 0 || b[i] != 0x30 { significant += 1 }
                if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 0x30); exponent -= 1 }
                i += 1
            }
        }
        if anyDigit, i < end, b[i] | 0x20 == 0x65 {  // e or E
            i += 1
            var expNegative = false
            if i < end, b[i] == 0x2D { expNegative = true; i += 1 } else if i < end, b[i] == 0x2B { i += 1 }
            var e = 0
            var expDigits = 0
            while i < end, b[i] &- 0x30 < 10 {
                if e < 100_000 { e = e * 10 + Int(b[i] &- 0x30) }
                i += 1; expDigits += 1
            }
            if expDigits == 0 { return .invalid }
            exponent += expNegative ? -e : e
        }
        if !anyDigit || i != end { return special(b, r, decimalComma: decimalComma) }
        if significant <= 15, exponent >= -22, exponent <= 22 {
            var v = Double(mantissa)
            if exponent < 0 { v /= powersOfTen[-exponent] } else { v *= powersOfTen[exponent] }
            return .value(negative ? -v : v)
        }
        return slow(b, r, decimalComma: decimalComma)
    }

    private static func special(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, decimalComma: Bool) -> Cell {
        var text = String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self).lowercased()
        if text.hasPrefix("+") || text.hasPrefix("-") { text.removeFirst() }
        switch text {
        case "nan", "inf", "infinity": return .nonFinite
        default: return .invalid
        }
    }

    private static func slow(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, decimalComma: Bool) -> Cell {
        var text = String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        if decimalComma { text = text.replacingOccurrences(of: ",", with: ".") }
        guard let v = Double(text) else { return .invalid }
        return v.isFinite ? .value(v) : .nonFinite
    }
}
