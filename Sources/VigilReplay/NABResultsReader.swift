// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// Reads the anomaly scores another detector wrote in NAB's results layout, so that
/// `vigil eval --nab-score DIR` ranks it with the same scorer as Vigil.
///
/// Layout: `DIR/<detector>/<category>/<detector>_<file>.csv` (NAB's `results/` folder), or the
/// same without the `<detector>_` prefix; DIR may also be one detector's folder itself. A results
/// file has a header with an `anomaly_score` column and one row per row of its data file, in
/// the same order; when it has a `timestamp` column too, each row's timestamp must be the data
/// row's (any form `Timestamp.parse` reads).
///
/// Threading: a stateless namespace; call from any thread.
public enum NABResultsReader {
    /// One detector's folder of results.
    public struct Detector: Sendable, Equatable {
        /// The detector's name: its folder's name.
        public var name: String
        /// The folder.
        public var path: String

        /// A detector named `name` whose results are under `path`.
        public init(name: String, path: String) {
            self.name = name
            self.path = path
        }
    }

    /// The detectors whose results are in `path` for data files named `names` (relative names,
    /// `realKnownCause/nyc_taxi.csv`): `path` itself when it holds results of one of them
    /// directly (one detector's folder), else each of its sub-folders that does, sorted by name.
    /// Throws `.missingFile` when there is no such folder or no results of any of the files.
    public static func detectors(in path: String, names: [String]) throws(FixtureError) -> [Detector] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FixtureError(.missingFile, file: path, reason: "no such results directory")
        }
        func holdsResults(_ d: Detector) -> Bool { names.contains { resultsFile(of: $0, in: d) != nil } }
        let standardized = (path as NSString).standardizingPath
        let itself = Detector(name: (standardized as NSString).lastPathComponent, path: path)
        if holdsResults(itself) { return [itself] }
        let children: [String]
        do { children = try fm.contentsOfDirectory(atPath: path).sorted() } catch {
            throw FixtureError(.unreadable, file: path, reason: "cannot list the results directory")
        }
        var found: [Detector] = []
        for child in children where !child.hasPrefix(".") {
            let full = (path as NSString).appendingPathComponent(child)
            var sub: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &sub), sub.boolValue else { continue }
            let d = Detector(name: child, path: full)
            if holdsResults(d) { found.append(d) }
        }
        guard !found.isEmpty else {
            throw FixtureError(.missingFile, file: path, reason: "no NAB results of these data files here (expected <detector>/<category>/<detector>_<file>.csv)")
        }
        return found
    }

    /// Where the results of the data file `name` would be in `detector`'s folder, most specific
    /// first: `<category>/<detector>_<file>`, `<category>/<file>`, then the same for shorter
    /// trailing parts of `name`.
    public static func candidates(of name: String, in detector: Detector) -> [String] {
        let parts = name.split(separator: "/").map(String.init)
        guard let file = parts.last else { return [] }
        var out: [String] = []
        for start in 0..<parts.count {
            let folder = parts[start..<(parts.count - 1)].reduce(detector.path) { ($0 as NSString).appendingPathComponent($1) }
            out.append((folder as NSString).appendingPathComponent(detector.name + "_" + file))
            out.append((folder as NSString).appendingPathComponent(file))
        }
        return out
    }

    /// The first existing candidate (`candidates(of:in:)`), nil when there is none.
    public static func resultsFile(of name: String, in detector: Detector) -> String? {
        candidates(of: name, in: detector).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The `anomaly_score` of every row of `fixture` from the results file at `path`. Throws
    /// `.missingFile`, `.badHeader` (no `anomaly_score` column), `.wrongColumnCount`,
    /// `.badNumber` (a score that is not a finite number), `.badTimestamp`, or
    /// `.resultsMismatch` (a row's timestamp differs from the data row's, or the row counts differ).
    public static func anomalyScores(path: String, fixture: Fixture) throws(FixtureError) -> [Double] {
        let scanner = try CSVScanner(path: path, displayName: path)
        let header = scanner.header.map { $0.lowercased() }
        guard let scoreColumn = header.firstIndex(of: "anomaly_score") else {
            throw FixtureError(.badHeader, file: path, line: scanner.headerLine,
                               reason: "no anomaly_score column in \"\(scanner.header.joined(separator: ","))\"")
        }
        let timestampColumn = header.firstIndex(of: "timestamp")
        let rows = fixture.rowCount
        var scores: [Double] = []
        scores.reserveCapacity(rows)
        let data = fixture.path
        try scanner.forEachRow { (buf, line, cells) throws(FixtureError) in
            guard cells.count == header.count else {
                throw FixtureError(.wrongColumnCount, file: path, line: line, reason: "expected \(header.count) cells, found \(cells.count)")
            }
            let row = scores.count
            guard row < rows else {
                throw FixtureError(.resultsMismatch, file: path, line: line, reason: "more rows than the \(rows) of \(data)")
            }
            if let t = timestampColumn {
                guard let ts = CSVScanner.timestamp(buf, cells[t]) else {
                    throw FixtureError(.badTimestamp, file: path, line: line, reason: "\"\(CSVScanner.excerpt(buf, cells[t]))\" is not a timestamp")
                }
                guard ts == fixture.timestamps[row] else {
                    throw FixtureError(.resultsMismatch, file: path, line: line,
                                       reason: "timestamp \"\(CSVScanner.excerpt(buf, cells[t]))\" but row \(row + 1) of \(data) is at \"\(fixture.timestampText(row: row))\"")
                }
            }
            guard case .value(let v) = CSVScanner.number(buf, cells[scoreColumn], decimalComma: false) else {
                throw FixtureError(.badNumber, file: path, line: line, reason: "anomaly_score \"\(CSVScanner.excerpt(buf, cells[scoreColumn]))\" is not a finite number")
            }
            scores.append(v)
        }
        guard scores.count == rows else {
            throw FixtureError(.resultsMismatch, file: path, reason: "\(scores.count) rows, but \(data) has \(rows)")
        }
        return scores
    }

    /// NAB's thresholds file (`config/thresholds.json`): detector → profile → `{"threshold": t, …}`,
    /// read as detector → profile name → threshold. Throws `.missingFile`, or `.unreadable` for a
    /// file that is not such a map. (Read with `JSONDecoder`, which parses numbers exactly;
    /// Foundation's `JSONSerialization` on Linux can be one unit in the last place off, and a
    /// threshold often equals a score exactly.)
    public static func thresholds(path: String) throws(FixtureError) -> [String: [String: Double]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError(FileManager.default.fileExists(atPath: path) ? .unreadable : .missingFile, file: path,
                               reason: "cannot read the thresholds file")
        }
        struct Entry: Decodable { var threshold: Double }
        do {
            return try JSONDecoder().decode([String: [String: Entry]].self, from: data).mapValues { $0.mapValues(\.threshold) }
        } catch {
            throw FixtureError(.unreadable, file: path, reason: "not a JSON object of detector → profile → {\"threshold\": number}")
        }
    }
}
