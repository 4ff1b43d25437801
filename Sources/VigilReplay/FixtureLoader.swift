// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// Finds and reads fixtures: files and directories (walked recursively, `.csv` files only, in
/// sorted order so runs are reproducible). A file whose header is `timestamp,value` is read
/// as NAB style (`NABReader`, windows from `labels`), any other as wide (`WideCSVReader`).
///
/// Threading: a value type; `load` may run on any thread.
public struct FixtureLoader: Sendable {
    /// NAB windows for the NAB-style files, when given.
    public var labels: NABLabels?

    /// A loader that attaches `labels` to NAB-style files.
    public init(labels: NABLabels? = nil) {
        self.labels = labels
    }

    /// One file to read: where it is and the relative name that identifies it in reports and
    /// output folders.
    public struct Entry: Sendable, Equatable {
        /// Path to read.
        public var path: String
        /// Relative name: the path relative to the directory it was found in
        /// (`realKnownCause/nyc_taxi.csv`), or for a file given directly its path as given,
        /// made relative (`relativeName(of:)`: `valve1/0.csv`).
        public var name: String
    }

    /// `path` as a relative name: `.` components and leading `/` dropped, `a/../b` resolved,
    /// `..` that would climb above the start dropped (`./valve1/0.csv` → `valve1/0.csv`,
    /// `/data/x.csv` → `data/x.csv`, `../shared/x.csv` → `shared/x.csv`), so that an output
    /// folder plus the name always stays inside the output folder.
    public static func relativeName(of path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch c {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(c)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Expands files and directories into the CSV files to read, in a deterministic order:
    /// arguments in the given order, each directory's files sorted by relative path.
    public func entries(_ paths: [String]) throws(FixtureError) -> [Entry] {
        var out: [Entry] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw FixtureError(.missingFile, file: path, reason: "no such file or directory")
            }
            if !isDirectory.boolValue {
                let name = Self.relativeName(of: path)
                out.append(Entry(path: path, name: name.isEmpty ? (path as NSString).lastPathComponent : name))
                continue
            }
            guard let walker = fm.enumerator(atPath: path) else {
                throw FixtureError(.unreadable, file: path, reason: "cannot list the directory")
            }
            var found: [String] = []
            while let rel = walker.nextObject() as? String {
                guard rel.lowercased().hasSuffix(".csv") else { continue }
                var sub: ObjCBool = false
                let full = (path as NSString).appendingPathComponent(rel)
                if fm.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue { found.append(rel) }
            }
            for rel in found.sorted() {
                out.append(Entry(path: (path as NSString).appendingPathComponent(rel), name: rel))
            }
        }
        return out
    }

    /// Reads one entry with the reader its header calls for.
    public func load(_ entry: Entry) throws(FixtureError) -> Fixture {
        let scanner = try CSVScanner(path: entry.path, displayName: entry.path)
        if NABReader.isNABHeader(scanner.header) {
            return try NABReader().read(scanner: scanner, path: entry.path, name: entry.name, labels: labels)
        }
        return try WideCSVReader().read(scanner: scanner, path: entry.path, name: entry.name)
    }

    /// Reads every fixture under `paths` (see `entries`).
    public func load(_ paths: [String]) throws(FixtureError) -> [Fixture] {
        var fixtures: [Fixture] = []
        for entry in try entries(paths) { fixtures.append(try load(entry)) }
        return fixtures
    }
}
