// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Reads NAB-style CSV: a `timestamp,value` header, then one sample per line.
///
/// The single series is sensor `<file stem>/value`. Ground truth comes from `NABLabels`.
/// Threading: a value type with no state; call from any thread.
public struct NABReader: Sendable {
    public init() {}

    /// Reads `path`; `name` is its path relative to the data directory (the labels key).
    /// Errors: `.missingFile`, `.badHeader`, `.badTimestamp`, `.badNumber`, `.wrongColumnCount`.
    public func read(path: String, name: String, labels: NABLabels? = nil) throws(FixtureError) -> Fixture {
        let scanner = try CSVScanner(path: path, displayName: path)
        return try read(scanner: scanner, path: path, name: name, labels: labels)
    }

    /// Reads NAB CSV already in memory (tests).
    public func read(bytes: [UInt8], name: String, labels: NABLabels? = nil) throws(FixtureError) -> Fixture {
        try read(scanner: CSVScanner(bytes: bytes, displayName: name), path: name, name: name, labels: labels)
    }

    /// Whether a header names a NAB-style file (`timestamp,value`, any case).
    static func isNABHeader(_ header: [String]) -> Bool {
        header.count == 2 && header[0].lowercased() == "timestamp" && header[1].lowercased() == "value"
    }

    func read(scanner: CSVScanner, path: String, name: String, labels: NABLabels?) throws(FixtureError) -> Fixture {
        guard Self.isNABHeader(scanner.header) else {
            throw FixtureError(.badHeader, file: scanner.file, line: scanner.headerLine,
                               reason: "expected \"timestamp,value\", found \"\(scanner.header.joined(separator: ","))\"")
        }
        let file = scanner.file
        let decimalComma = scanner.delimiter == 0x3B
        let estimate = scanner.bytes.count / 24
        var timestamps: [Int64] = []
        var ranges: [Range<Int>] = []
        var values: [Double] = []
        timestamps.reserveCapacity(estimate); ranges.reserveCapacity(estimate); values.reserveCapacity(estimate)
        var empty = 0, nonFinite = 0, outOfOrder = 0
        var last = Int64.min
        try scanner.forEachRow { (buf, line, cells) throws(FixtureError) in
            guard cells.count == 2 else {
                throw FixtureError(.wrongColumnCount, file: file, line: line, reason: "expected 2 cells, found \(cells.count)")
            }
            guard let ts = CSVScanner.timestamp(buf, cells[0]) else {
                throw FixtureError(.badTimestamp, file: file, line: line, reason: "\"\(CSVScanner.excerpt(buf, cells[0]))\" is not a timestamp")
            }
            let v: Double
            switch CSVScanner.number(buf, cells[1], decimalComma: decimalComma) {
            case .value(let x): v = x
            case .empty: v = .nan; empty += 1
            case .nonFinite: v = .nan; nonFinite += 1
            case .invalid:
                throw FixtureError(.badNumber, file: file, line: line, reason: "\"\(CSVScanner.excerpt(buf, cells[1]))\" is not a number")
            }
            if ts < last { outOfOrder += 1 }
            last = ts
            timestamps.append(ts); ranges.append(cells[0]); values.append(v)
        }
        var fixture = Fixture(name: name, path: path, format: .nab, columns: ["value"], timestamps: timestamps, values: [values],
                              text: scanner.bytes, timestampRanges: ranges, emptyCells: empty, nonFiniteCells: nonFinite,
                              outOfOrderRows: outOfOrder)
        if let windows = labels?.windows(name: name, path: path) { fixture.applyWindows(windows) }
        return fixture
    }
}
