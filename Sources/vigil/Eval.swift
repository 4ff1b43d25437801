// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import Synchronization
import VigilConfig
import VigilReplay

/// `vigil eval FILE|DIR…`: runs the daemon's detectors offline over labelled fixtures and
/// reports point-wise and event-wise precision, recall and F1, ROC/PR AUC, detection delay and
/// false alarms per day. All the work is in `VigilReplay`; this only parses arguments and prints.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon's detectors offline over labelled fixtures and score them.",
        discussion: """
        FILE|DIR are NAB-style CSV (timestamp,value; labels from --labels) or wide CSV (a timestamp \
        column, one column per sensor, optional anomaly/changepoint label columns). Directories are \
        walked recursively for .csv files. Prints a table (or JSON with --json) per file and in total.
        """)

    @Argument(help: ArgumentHelp("Fixture files or directories.", valueName: "FILE|DIR"))
    var paths: [String]

    @Option(help: ArgumentHelp("NAB labels JSON: file → [[start, end], …], keys relative to the data directory.", valueName: "PATH"))
    var labels: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(name: .customLong("nab-results"), help: ArgumentHelp("Write NAB results files (DIR/vigil/<category>/vigil_<file>.csv).", valueName: "DIR"))
    var nabResults: String?

    @Option(name: .customLong("scores-out"), help: ArgumentHelp("Write per-row scores, one CSV per input at the same relative path.", valueName: "DIR"))
    var scoresOut: String?

    @Option(help: ArgumentHelp("Write one SVG chart per series (values, scores, thresholds, alerts, labelled windows).", valueName: "DIR"))
    var plot: String?

    @Flag(help: "Also run the evaluation over a grid of threshold factors and report the precision/recall trade-off.")
    var sweep = false

    @Option(help: ArgumentHelp("Daemon configuration whose detector settings to evaluate (default: Configs/vigil.yaml when present, else the built-in defaults).", valueName: "PATH"))
    var config: String?

    /// The configuration whose detectors are evaluated, resolved exactly as `vigild` does.
    func loadConfiguration() throws -> VigilConfiguration {
        let path = config ?? (FileManager.default.fileExists(atPath: "Configs/vigil.yaml") ? "Configs/vigil.yaml" : nil)
        guard let path else { return VigilConfiguration() }
        do {
            return try VigilConfiguration.load(path: path)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let started = ContinuousClock.now
        let labels = try self.labels.map { path throws(FixtureError) in try NABLabels(path: path) }
        let fixtures = try FixtureLoader(labels: labels).load(paths)
        let read = ContinuousClock.now - started
        let samples = fixtures.reduce(0) { $0 + $1.sampleCount }
        let configuration = try loadConfiguration()
        var assetOf: (@Sendable (String) -> String?)? = nil
        if !configuration.assets.isEmpty { assetOf = { @Sendable name in configuration.asset(ofSensor: name) } }
        let evaluator = Evaluator(settings: { configuration.detectorSettings(forSensor: $0) }, assetOf: assetOf,
                                  pcaSettings: { configuration.pcaSettings(forAsset: $0) })
        let runner = EvaluationRunner(evaluator: evaluator, outputs: .init(nabResults: nabResults, scores: scoresOut, plots: plot))

        let bar = ProgressBar(total: samples * (sweep ? 1 + ThresholdSweep.defaultFactors.count : 1))
        let evalStart = ContinuousClock.now
        let report = try runner.run(fixtures, progress: bar.advance)
        let evaluated = ContinuousClock.now - evalStart
        let sweepResult = sweep ? ThresholdSweep(fixtures: fixtures, evaluator: evaluator, concurrency: runner.concurrency, progress: bar.advance) : nil
        bar.finish()

        if json {
            print(report.json(extra: sweepResult.map { [("sweep", $0.json())] } ?? []), terminator: "")
        } else {
            print(report.table(), terminator: "")
            if let sweepResult { print("\n" + sweepResult.table(), terminator: "") }
        }
        let seconds = Double(evaluated.components.seconds) + Double(evaluated.components.attoseconds) * 1e-18
        let readSeconds = Double(read.components.seconds) + Double(read.components.attoseconds) * 1e-18
        FileHandle.standardError.write(Data(String(
            "vigil eval: \(fixtures.count) files, \(samples) samples read in \(EvaluationFormat.seconds(readSeconds)), evaluated in \(EvaluationFormat.seconds(seconds)) (\(Int(Double(samples) / max(seconds, 1e-9))) samples/s)\n").utf8))
    }
}

enum EvaluationFormat {
    static func seconds(_ s: Double) -> String { String(format: "%.3f s", s) }
}
