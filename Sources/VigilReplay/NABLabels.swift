// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore

/// NAB ground truth: a JSON map of file → list of `[start, end]` windows, as in NAB's
/// `labels/combined_windows.json`. Keys are paths relative to the data directory
/// (`realKnownCause/nyc_taxi.csv`); times are in any form `Timestamp.parse` accepts
/// (NAB writes `2014-04-10 07:15:00.000000`, UTC).
public struct NABLabels: Sendable {
    /// Windows per key, each list in time order.
    public private(set) var windows: [String: [LabelWindow]]

    /// Labels from a map of key → windows.
    public init(windows: [String: [LabelWindow]]) {
        self.windows = windows.mapValues { $0.sorted { ($0.start, $0.end) < ($1.start, $1.end) } }
    }

    /// Reads a labels JSON file.
    public init(path: String) throws(FixtureError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FixtureError(.missingFile, file: path, reason: "no such labels file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError(.unreadable, file: path, reason: "cannot read the labels file")
        }
        try self.init(json: data, file: path)
    }

    /// Parses labels JSON; `file` names it in errors.
    public init(json: Data, file: String) throws(FixtureError) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json) } catch {
            throw FixtureError(.badLabelsFile, file: file, reason: "not valid JSON")
        }
        guard let map = object as? [String: Any] else {
            throw FixtureError(.badLabelsFile, file: file, line: 1, reason: "expected an object mapping file → windows")
        }
        var windows: [String: [LabelWindow]] = [:]
        for key in map.keys.sorted() {
            guard let list = map[key] as? [Any] else {
                throw FixtureError(.badLabelsFile, file: file, reason: "\(key): expected a list of [start, end] windows")
            }
            var ws: [LabelWindow] = []
            for item in list {
                guard let pair = item as? [Any], pair.count == 2 else {
                    throw FixtureError(.badLabelsFile, file: file, reason: "\(key): a window must be [start, end]")
                }
                var ends: [Int64] = []
                for end in pair {
                    let text: String
                    if let s = end as? String { text = s } else if let n = end as? NSNumber { text = n.stringValue } else {
                        throw FixtureError(.badTimestamp, file: file, reason: "\(key): \(end) is not a timestamp")
                    }
                    guard let ts = Timestamp.parse(text) else {
                        throw FixtureError(.badTimestamp, file: file, reason: "\(key): \"\(text)\" is not a timestamp")
                    }
                    ends.append(ts)
                }
                guard ends[0] <= ends[1] else {
                    throw FixtureError(.badLabelsFile, file: file, reason: "\(key): window ends before it starts")
                }
                ws.append(LabelWindow(start: ends[0], end: ends[1]))
            }
            windows[key] = ws
        }
        self.init(windows: windows)
    }

    /// The windows of a fixture: the entry whose key equals `name`, else the one whose key is
    /// the longest trailing part of `path` on `/` boundaries (so a file named directly,
    /// `…/data/realKnownCause/nyc_taxi.csv`, finds `realKnownCause/nyc_taxi.csv`). Nil when the
    /// file is not listed.
    public func windows(name: String, path: String) -> [LabelWindow]? {
        if let w = windows[name] { return w }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        for start in components.indices {
            let suffix = components[start...].joined(separator: "/")
            if let w = windows[suffix] { return w }
        }
        return nil
    }
}
