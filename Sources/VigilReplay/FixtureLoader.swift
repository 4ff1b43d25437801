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

    /// One file to read: where it is and its name relative to the directory it was found in.
    public struct Entry: Sendable, Equatable {
        /// Path to read.
        public var path: String
        /// Relative name (`realKnownCause/nyc_taxi.csv`), or the file name for a file given directly.
        public var name: String
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
                out.append(Entry(path: path, name: (path as NSString).lastPathComponent))
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
