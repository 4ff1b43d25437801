// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Reads wide CSV: a timestamp column, then one column per sensor of the asset, `,` or `;`
/// separated (detected from the header; in `;` files a decimal comma is accepted), with
/// optional `anomaly` and `changepoint` columns (0/1) as point labels.
///
/// One file is one asset named after the file's stem; its sensors are `<stem>/<column>`.
/// An empty cell means the sensor has no sample on that row; NaN and infinite cells are skipped
/// and counted. When both label columns are absent the file is unlabelled; `anomaly` is the
/// ground truth, or `changepoint` when it is the only label column.
/// Threading: a value type with no state; call from any thread.
public struct WideCSVReader: Sendable {
    /// Header names (compared case-insensitively) of the label columns.
    public static let anomalyColumn = "anomaly"
    /// See `anomalyColumn`.
    public static let changepointColumn = "changepoint"

    public init() {}

    /// Reads `path`; `name` is its path relative to the directory it was found in.
    /// Errors: `.missingFile`, `.badHeader`, `.badTimestamp`, `.badNumber`, `.badLabel`,
    /// `.wrongColumnCount`.
    public func read(path: String, name: String) throws(FixtureError) -> Fixture {
        try read(scanner: CSVScanner(path: path, displayName: path), path: path, name: name)
    }

    /// Reads wide CSV already in memory (tests, generators).
    public func read(bytes: [UInt8], name: String) throws(FixtureError) -> Fixture {
        try read(scanner: CSVScanner(bytes: bytes, displayName: name), path: name, name: name)
    }

    func read(scanner: CSVScanner, path: String, name: String) throws(FixtureError) -> Fixture {
        let file = scanner.file
        let header = scanner.header
        func bad(_ reason: String) -> FixtureError {
            FixtureError(.badHeader, file: file, line: scanner.headerLine, reason: reason)
        }
        guard header.count >= 2 else { throw bad("expected a timestamp column and at least one sensor column") }
        if Timestamp.parse(header[0]) != nil { throw bad("the first line is data (\"\(header[0])\"): a header row is required") }
        var seen = Set<String>()
        var sensorCells: [Int] = []
        var columns: [String] = []
        var anomalyCell: Int? = nil
        var changepointCell: Int? = nil
        for (i, h) in header.enumerated() {
            guard !h.isEmpty else { throw bad("column \(i + 1) has no name") }
            guard seen.insert(h).inserted else { throw bad("column \"\(h)\" appears twice") }
            if i == 0 { continue }
            switch h.lowercased() {
            case Self.anomalyColumn: anomalyCell = i
            case Self.changepointColumn: changepointCell = i
            default:
                if case .value = h.utf8.withContiguousStorageIfAvailable({ CSVScanner.number($0, 0..<$0.count, decimalComma: false) }) {
                    throw bad("column name \"\(h)\" is a number: a header row is required")
                }
                sensorCells.append(i); columns.append(h)
            }
        }
        guard !sensorCells.isEmpty else { throw bad("no sensor columns") }

        let width = header.count
        let decimalComma = scanner.delimiter == 0x3B
        let estimate = scanner.bytes.count / max(8 * width, 16)
        var timestamps: [Int64] = []
        var ranges: [Range<Int>] = []
        var values = Array(repeating: [Double](), count: sensorCells.count)
        var anomaly: [Bool] = []
        var changepoint: [Bool] = []
        timestamps.reserveCapacity(estimate); ranges.reserveCapacity(estimate)
        for k in values.indices { values[k].reserveCapacity(estimate) }
        var empty = 0, nonFinite = 0, outOfOrder = 0
        var last = Int64.min
        try scanner.forEachRow { (buf, line, cells) throws(FixtureError) in
            guard cells.count == width else {
                throw FixtureError(.wrongColumnCount, file: file, line: line, reason: "expected \(width) cells, found \(cells.count)")
            }
            guard let ts = CSVScanner.timestamp(buf, cells[0]) else {
                throw FixtureError(.badTimestamp, file: file, line: line, reason: "\"\(CSVScanner.excerpt(buf, cells[0]))\" is not a timestamp")
            }
            for (k, c) in sensorCells.enumerated() {
                switch CSVScanner.number(buf, cells[c], decimalComma: decimalComma) {
                case .value(let x): values[k].append(x)
                case .empty: values[k].append(.nan); empty += 1
                case .nonFinite: values[k].append(.nan); nonFinite += 1
                case .invalid:
                    throw FixtureError(.badNumber, file: file, line: line,
                                       reason: "\(header[c]): \"\(CSVScanner.excerpt(buf, cells[c]))\" is not a number")
                }
            }
            func label(_ c: Int) throws(FixtureError) -> Bool {
                switch CSVScanner.number(buf, cells[c], decimalComma: decimalComma) {
                case .empty: return false
                case .value(let x) where x == 0 || x == 1: return x == 1
                default:
                    throw FixtureError(.badLabel, file: file, line: line,
                                       reason: "\(header[c]): \"\(CSVScanner.excerpt(buf, cells[c]))\" is not 0 or 1")
                }
            }
            if let a = anomalyCell { anomaly.append(try label(a)) }
            if let c = changepointCell { changepoint.append(try label(c)) }
            if ts < last { outOfOrder += 1 }
            last = ts
            timestamps.append(ts); ranges.append(cells[0])
        }
        var fixture = Fixture(name: name, path: path, format: .wide, columns: columns, timestamps: timestamps, values: values,
                              text: scanner.bytes, timestampRanges: ranges, emptyCells: empty, nonFiniteCells: nonFinite,
                              outOfOrderRows: outOfOrder)
        fixture.changepoints = changepoint
        if anomalyCell != nil { fixture.applyPointLabels(anomaly) } else if changepointCell != nil { fixture.applyPointLabels(changepoint) }
        return fixture
    }
}
