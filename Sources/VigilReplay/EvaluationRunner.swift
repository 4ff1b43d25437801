// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Synchronization
import VigilCore

/// Evaluates many fixtures: runs each through the `Evaluator`, writes the requested output
/// files, and collects the report. Files run in parallel (one per core); each file's run is
/// independent and the report keeps input order, so the results do not depend on scheduling.
///
/// Threading: `run` blocks the calling thread until every file is done; `progress` is called
/// from worker threads.
public struct EvaluationRunner: Sendable {
    /// Where to write per-file outputs; nil = not written.
    public struct Outputs: Sendable, Equatable {
        /// NAB results directory (`--nab-results`), see `NABResults`.
        public var nabResults: String?
        /// Per-row scores directory (`--scores-out`), see `ScoresCSV`.
        public var scores: String?
        /// SVG charts directory (`--plot`), see `SVGPlot`.
        public var plots: String?

        /// Outputs to write.
        public init(nabResults: String? = nil, scores: String? = nil, plots: String? = nil) {
            self.nabResults = nabResults
            self.scores = scores
            self.plots = plots
        }
    }

    /// The detectors' settings.
    public var evaluator: Evaluator
    /// Files to write.
    public var outputs: Outputs
    /// Files evaluated at once.
    public var concurrency: Int

    /// A runner; `concurrency` defaults to the number of active processors.
    public init(evaluator: Evaluator = Evaluator(), outputs: Outputs = Outputs(),
                concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.evaluator = evaluator
        self.outputs = outputs
        self.concurrency = max(1, concurrency)
    }

    /// Evaluates `fixtures`; `progress` receives counts of samples processed. Throws before
    /// running anything when two fixtures would write one output file (`.conflictingOutputs`,
    /// see `outputPaths`), else the first output file that could not be written (`.cannotWrite`).
    public func run(_ fixtures: [Fixture], progress: @escaping @Sendable (Int) -> Void = { _ in }) throws(FixtureError) -> EvaluationReport {
        _ = try outputPaths(fixtures)
        return EvaluationReport(files: try map(fixtures, progress: progress) { run throws(FixtureError) in
            try write(run)
            return EvaluationReport.File(run)
        })
    }

    /// Runs every fixture through the evaluator and hands each run to `body` on the worker
    /// thread that made it, so the run can be reduced and dropped there; the results come back
    /// in input order whatever the scheduling. Throws the error of the first fixture (in input
    /// order) whose `body` threw. Writes nothing.
    public func map<T: Sendable, E: Error>(_ fixtures: [Fixture], progress: @escaping @Sendable (Int) -> Void = { _ in },
                                           _ body: @escaping @Sendable (FixtureRun) throws(E) -> T) throws(E) -> [T] {
        let results = Mutex<[Int: Result<T, E>]>([:])
        let next = Atomic<Int>(0)
        let workers = min(concurrency, max(fixtures.count, 1))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < fixtures.count else { return }
                let run = evaluator.run(fixtures[i], progress: progress)
                let result: Result<T, E>
                do throws(E) {
                    result = .success(try body(run))
                } catch {
                    result = .failure(error)
                }
                results.withLock { $0[i] = result }
            }
        }
        var out: [T] = []
        out.reserveCapacity(fixtures.count)
        let all = results.withLock { $0 }
        for i in fixtures.indices { out.append(try all[i]!.get()) }
        return out
    }

    /// The files the outputs of `fixture` are written to: `--scores-out` at the fixture's
    /// relative name, `--nab-results` and `--plot` per sensor (`NABResults.relativePath`,
    /// `SVGPlot.relativePath`).
    public func outputPaths(of fixture: Fixture) -> [String] {
        var paths: [String] = []
        if let dir = outputs.scores { paths.append(dir + "/" + fixture.name) }
        for sensor in fixture.columns.indices {
            if let dir = outputs.nabResults { paths.append(dir + "/" + NABResults.relativePath(fixture, sensor: sensor)) }
            if let dir = outputs.plots { paths.append(dir + "/" + SVGPlot.relativePath(fixture, sensor: sensor)) }
        }
        return paths
    }

    /// Every output file of `fixtures`, in order. Throws `.conflictingOutputs` naming the file
    /// and both inputs when two of them would write the same one (one would silently replace
    /// the other).
    public func outputPaths(_ fixtures: [Fixture]) throws(FixtureError) -> [String] {
        var writer: [String: Int] = [:]
        var all: [String] = []
        for (i, f) in fixtures.enumerated() {
            for path in outputPaths(of: f) {
                let key = (path as NSString).standardizingPath
                if let other = writer[key], other != i {
                    throw FixtureError(.conflictingOutputs, file: path,
                                       reason: "both \(fixtures[other].path) and \(f.path) would write it (name them by paths that differ, e.g. give the folder above them)")
                }
                writer[key] = i
                all.append(path)
            }
        }
        return all
    }

    /// Writes the outputs of one run.
    public func write(_ run: FixtureRun) throws(FixtureError) {
        let f = run.fixture
        if let dir = outputs.scores {
            try Self.write(ScoresCSV.text(run), to: dir + "/" + f.name)
        }
        for sensor in f.columns.indices {
            if let dir = outputs.nabResults {
                try Self.write(NABResults.text(run, sensor: sensor), to: dir + "/" + NABResults.relativePath(f, sensor: sensor))
            }
            if let dir = outputs.plots {
                try Self.write(SVGPlot.render(run, sensor: sensor), to: dir + "/" + SVGPlot.relativePath(f, sensor: sensor))
            }
        }
    }

    /// Writes `text` to `path`, creating missing folders.
    static func write(_ text: String, to path: String) throws(FixtureError) {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw FixtureError(.cannotWrite, file: path, reason: "\(error.localizedDescription)")
        }
    }
}
