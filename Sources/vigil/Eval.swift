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

        Tuning from history: --tune SPACE.yaml searches the detector keys the space file lists \
        (e.g. detectors.zscore.threshold: {min: 3, max: 10, scale: log}) with Bayesian optimisation \
        (a Gaussian process and expected improvement), cross-validated by file: each fold's settings \
        are tuned on the other folds and scored on it. Prints the held-out score next to the base \
        configuration's (--config) on the same folds, the number of evaluations, and the final \
        settings (tuned on every file) as a config snippet for detectors:. The space file also sets \
        budget (evaluations per search), folds, objective (event_f1, point_f1, detection_at_fa with \
        max_false_alarm_rate) and is checked like a config (file:line:col: key: message). The same \
        inputs and --seed give the same output. Example: Configs/eval/tune-zscore.yaml.
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

    @Option(help: ArgumentHelp("Daemon configuration whose detector settings to evaluate (default: Configs/vigil.yaml when present, else the built-in defaults); with --tune, the base the tuned values are overlaid on and compared with.", valueName: "PATH"))
    var config: String?

    @Option(help: ArgumentHelp("Tune the detector keys a tuning space file lists on the fixtures, cross-validated by file, and print the best settings as a config snippet.", valueName: "SPACE.yaml"))
    var tune: String?

    @Option(help: ArgumentHelp("Seed of --tune's fold assignment and searches: the same inputs and seed give the same output.", valueName: "N"))
    var seed: UInt64 = Tuner.defaultSeed

    func validate() throws {
        guard tune != nil else { return }
        let conflicting = [("--sweep", sweep), ("--plot", plot != nil), ("--nab-results", nabResults != nil), ("--scores-out", scoresOut != nil)]
            .filter(\.1).map(\.0)
        if !conflicting.isEmpty {
            throw ValidationError("--tune cannot be combined with \(conflicting.joined(separator: ", ")): it writes no per-candidate files")
        }
    }

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
        // A bad space file is reported before any fixture is read.
        let space = try tune.map { path in
            do { return try TuningSpace.load(path: path) } catch { throw ValidationError("\(error)") }
        }
        let labels = try self.labels.map { path throws(FixtureError) in try NABLabels(path: path) }
        let fixtures = try FixtureLoader(labels: labels).load(paths)
        let read = ContinuousClock.now - started
        let samples = fixtures.reduce(0) { $0 + $1.sampleCount }
        let configuration = try loadConfiguration()
        if let space { return try runTuning(space, configuration, fixtures, samples: samples, read: read) }
        let evaluator = Evaluator(configuration: configuration)
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
        let seconds = EvaluationFormat.seconds(evaluated)
        FileHandle.standardError.write(Data(String(
            "vigil eval: \(fixtures.count) files, \(samples) samples read in \(EvaluationFormat.text(read)), evaluated in \(EvaluationFormat.text(evaluated)) (\(Int(Double(samples) / max(seconds, 1e-9))) samples/s)\n").utf8))
    }

    /// `--tune`: the report on stdout (deterministic), timing on stderr.
    func runTuning(_ space: TuningSpace, _ configuration: VigilConfiguration, _ fixtures: [Fixture],
                   samples: Int, read: Duration) throws {
        let labelled = fixtures.filter(\.isLabelled).reduce(0) { $0 + $1.sampleCount }
        // Roughly: every search evaluates its budget on (folds − 1)/folds of the samples, the final one on all.
        let expected = labelled * (1 + space.budget * (space.folds - 1 + 1))
        let bar = ProgressBar(total: expected)
        let tuneStart = ContinuousClock.now
        let report: TuningReport
        do {
            report = try Tuner(space: space, base: configuration, seed: seed).run(fixtures, progress: bar.advance)
        } catch let error as ConfigError {
            bar.finish()
            throw ValidationError("\(error)")
        } catch let error as TuningError {
            bar.finish()
            throw ValidationError(error.description)
        }
        let tuned = ContinuousClock.now - tuneStart
        bar.finish()
        // Unbuffered, so the report is out before the timing line on stderr.
        FileHandle.standardOutput.write(Data((json ? report.json() : report.text()).utf8))
        FileHandle.standardError.write(Data(String(
            "vigil eval --tune: \(fixtures.count) files, \(samples) samples read in \(EvaluationFormat.text(read)); "
                + "\(report.searchEvaluations) evaluations (\(report.fileRuns) file runs) in \(EvaluationFormat.text(tuned))\n").utf8))
    }
}

enum EvaluationFormat {
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func text(_ d: Duration) -> String { String(format: "%.3f s", seconds(d)) }
}
