// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// One recorded file, read into memory: one asset with one or more sensors sampled on the
/// rows' timestamps, and its ground truth when it has any.
///
/// Rows keep the file's order (which is the order `vigil replay` would publish them in);
/// timestamps may be irregular, have gaps, or repeat. Not every sensor has a sample on every
/// row: an empty, NaN or infinite cell is no sample.
public struct Fixture: Sendable {
    /// Which reader made it.
    public enum Format: String, Sendable, Codable {
        /// `timestamp,value`, labels from a NAB windows JSON.
        case nab
        /// A timestamp column then one column per sensor, optional `anomaly`/`changepoint`.
        case wide
    }

    /// The file's path relative to the directory it was found in (or its file name when it was
    /// named directly), with `/` separators: `realKnownCause/nyc_taxi.csv`. Names the file in
    /// reports and in the output folders.
    public var name: String
    /// The path the file was read from.
    public var path: String
    /// The format the file was read as.
    public var format: Format
    /// The file name without extension, which is the asset: `nyc_taxi`, `pump7`.
    public var asset: String
    /// The sensor columns' header names, in file order.
    public var columns: [String]
    /// Nanoseconds since the epoch, one per row.
    public var timestamps: [Int64]
    /// `values[sensor][row]`; NaN where the sensor has no sample on that row.
    public var values: [[Double]]
    /// Whether the file has ground truth (a labels entry, or an `anomaly`/`changepoint` column).
    public var isLabelled: Bool
    /// Per row: whether it is labelled anomalous (all false when unlabelled).
    public var pointLabels: [Bool]
    /// `changepoint` column of a wide file, per row (empty when absent).
    public var changepoints: [Bool]
    /// Labelled anomaly windows, in time order.
    public var windows: [LabelWindow]
    /// Cells that were empty (no sample).
    public var emptyCells: Int
    /// Cells that were NaN or infinite (skipped, like ingest drops them).
    public var nonFiniteCells: Int
    /// Rows whose timestamp is earlier than the previous row's.
    public var outOfOrderRows: Int

    /// The file's bytes and where each row's timestamp text lies in them, so outputs can repeat
    /// the timestamp exactly as written.
    let text: [UInt8]
    let timestampRanges: [Range<Int>]

    /// Sensor ids: `<asset>/<column>`, e.g. `pump7/vibration`.
    public var sensors: [String] { columns.map { asset + "/" + $0 } }

    /// Number of rows.
    public var rowCount: Int { timestamps.count }

    /// Number of samples (non-empty finite cells over all sensors).
    public var sampleCount: Int {
        values.reduce(0) { acc, column in acc + column.reduce(0) { $1.isNaN ? $0 : $0 + 1 } }
    }

    /// The row's timestamp exactly as written in the file (quotes and spaces trimmed).
    public func timestampText(row: Int) -> String {
        text.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[timestampRanges[row]]), as: UTF8.self) }
    }

    /// Memberwise creation, for tests and generators: `timestampTexts` default to RFC 3339.
    public init(name: String, format: Format = .wide, columns: [String], timestamps: [Int64], values: [[Double]],
                pointLabels: [Bool]? = nil, windows: [LabelWindow]? = nil, timestampTexts: [String]? = nil) {
        precondition(values.count == columns.count && values.allSatisfy { $0.count == timestamps.count })
        self.name = name
        self.path = name
        self.format = format
        self.asset = Self.stem(of: name)
        self.columns = columns
        self.timestamps = timestamps
        self.values = values
        self.changepoints = []
        self.emptyCells = 0
        self.nonFiniteCells = 0
        self.outOfOrderRows = zip(timestamps, timestamps.dropFirst()).reduce(0) { $1.1 < $1.0 ? $0 + 1 : $0 }
        var text: [UInt8] = []
        var ranges: [Range<Int>] = []
        for (i, ts) in timestamps.enumerated() {
            let s = timestampTexts?[i] ?? Timestamp.rfc3339(ts)
            let start = text.count
            text.append(contentsOf: s.utf8)
            ranges.append(start..<text.count)
        }
        self.text = text
        self.timestampRanges = ranges
        self.isLabelled = pointLabels != nil || windows != nil
        self.pointLabels = Array(repeating: false, count: timestamps.count)
        self.windows = []
        if let windows { applyWindows(windows) } else if let pointLabels { applyPointLabels(pointLabels) }
    }

    init(name: String, path: String, format: Format, columns: [String], timestamps: [Int64], values: [[Double]],
         text: [UInt8], timestampRanges: [Range<Int>], emptyCells: Int, nonFiniteCells: Int, outOfOrderRows: Int) {
        self.name = name
        self.path = path
        self.format = format
        self.asset = Self.stem(of: name)
        self.columns = columns
        self.timestamps = timestamps
        self.values = values
        self.text = text
        self.timestampRanges = timestampRanges
        self.emptyCells = emptyCells
        self.nonFiniteCells = nonFiniteCells
        self.outOfOrderRows = outOfOrderRows
        self.isLabelled = false
        self.pointLabels = Array(repeating: false, count: timestamps.count)
        self.changepoints = []
        self.windows = []
    }

    /// Sets the ground truth from windows: a row is anomalous when its timestamp lies in one.
    public mutating func applyWindows(_ windows: [LabelWindow]) {
        let sorted = windows.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
        self.windows = sorted
        isLabelled = true
        // Windows may overlap; a row is in one when the nearest window starting at or before
        // it ends at or after it — track the running maximum end.
        var maxEnd: [Int64] = []
        var running = Int64.min
        for w in sorted { running = max(running, w.end); maxEnd.append(running) }
        pointLabels = timestamps.map { ts in
            var lo = 0, hi = sorted.count
            while lo < hi { let mid = (lo + hi) / 2; if sorted[mid].start <= ts { lo = mid + 1 } else { hi = mid } }
            return lo > 0 && maxEnd[lo - 1] >= ts
        }
    }

    /// Sets the ground truth from per-row labels: each run of consecutive anomalous rows is one
    /// window from its first to its last row's timestamp.
    public mutating func applyPointLabels(_ labels: [Bool]) {
        precondition(labels.count == timestamps.count)
        pointLabels = labels
        isLabelled = true
        var windows: [LabelWindow] = []
        var runStart: Int? = nil
        for row in 0...labels.count {
            let on = row < labels.count && labels[row]
            if on, runStart == nil { runStart = row }
            if !on, let s = runStart {
                let span = timestamps[s..<row]
                windows.append(LabelWindow(start: span.min()!, end: span.max()!))
                runStart = nil
            }
        }
        self.windows = windows
    }

    static func stem(of name: String) -> String {
        let file = name.split(separator: "/").last.map(String.init) ?? name
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}
