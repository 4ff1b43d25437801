// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// Shared by the fuzz targets: invariant checks that crash loudly (so libFuzzer keeps the input),
/// and the seed corpus each target writes from the repository's fixtures and valid encodings.
///
/// Threading: libFuzzer calls a target from one thread.
public enum Fuzz {
    /// The repository root (this file is `Fuzz/Targets/FuzzSupport/FuzzSupport.swift`).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Stops the process with `message` when `condition` is false: a broken invariant is a
    /// finding like a crash (`precondition` prints nothing in optimised builds).
    @inline(__always)
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            FileHandle.standardError.write(Data("invariant broken: \(message())\n".utf8))
            abort()
        }
    }

    /// When `VIGIL_FUZZ_SEEDS` names a directory, writes `make()`'s seeds into it (one file
    /// each) and exits: `run.sh` calls each target this way to build its seed corpus.
    public static func writeSeedsIfAsked(_ make: () -> [(name: String, bytes: [UInt8])]) {
        guard let dir = ProcessInfo.processInfo.environment["VIGIL_FUZZ_SEEDS"] else { return }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let seeds = make()
            for seed in seeds {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: dir).appendingPathComponent(seed.name))
            }
            print("wrote \(seeds.count) seeds to \(dir)")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write seeds to \(dir): \(error)\n".utf8))
            exit(1)
        }
    }

    /// The contents of a repository file (path relative to the root), nil when unreadable.
    public static func repositoryFile(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: repositoryRoot + "/" + path).map { Array($0) }
    }

    /// Repository files under `directory` (relative to the root) whose names end with `suffix`,
    /// as relative paths, sorted.
    public static func repositoryFiles(under directory: String, suffix: String) -> [String] {
        let base = repositoryRoot + "/" + directory
        guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) }.sorted().map { directory + "/" + $0 }
    }
}
