// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import Synchronization
import VigilConfig
import VigilReplay

/// `vigil eval FILE|DIR…`: runs the daemon's detectors offline over labelled fixtures and
/// reports point-wise and event-wise precision, recall and F1, the time-weighted detection and
/// false-alarm rates (share of fault and of normal time flagged), ROC/PR AUC, detection delay and
/// false alarms per day. All the work is in `VigilReplay`; this only parses arguments and prints.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon's detectors offline over labelled fixtures and score them.",
        discussion: """
        FILE|DIR are NAB-style CSV (timestamp,value; labels from --labels) or wide CSV (a timestamp \
        column, one column per sensor, optional anomaly/changepoint label columns). Directories are \
        walked recursively for .csv files. Prints a table (or JSON with --json) per file and in total; \
        DR and FAR are the shares of labelled (fault) and of normal time during which an alert is raised. \
        Each file is named by its path relative to the directory given (a file given directly: by \
        its path as given); outputs keep that path, and two inputs that would write one output file \
        are refused.

        NAB scores: when NAB-style files have windows in --labels, the report also gives NAB's \
        final score (Numenta Anomaly Benchmark, normalised: 0 = no detection, 100 = perfect) for its \
        three profiles: "tuned" applies NAB's optimised threshold to the anomaly score that \
        --nab-results writes; "deployed" counts each raised alarm as one detection at its row.

        Scoring another detector: --nab-score DIR scores the NAB results already in DIR (NAB's \
        layout DIR/<detector>/<category>/<detector>_<file>.csv with an anomaly_score column; DIR may \
        also be one detector's folder) against the data files and --labels, instead of running \
        Vigil's detectors, e.g.
          vigil eval --nab-score NAB/results --labels NAB/labels/combined_windows.json NAB/data
        It reports NAB's optimised threshold and score per detector and profile, and the score at \
        --nab-threshold or at NAB's --nab-thresholds file (config/thresholds.json). A file that \
        cannot be scored (missing results, rows that do not match, a label timestamp that is not \
        a row) is named on stderr, the others are scored, and the exit status is 1.

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

    @Option(name: .customLong("nab-results"), help: ArgumentHelp("Write NAB results files (DIR/vigil/<folder>/vigil_<file>.csv); their anomaly_score is at or above 0.5 exactly on the rows that raised an alert.", valueName: "DIR"))
    var nabResults: String?

    @Option(name: .customLong("scores-out"), help: ArgumentHelp("Write per-row scores, one CSV per input at the same relative path.", valueName: "DIR"))
    var scoresOut: String?

    @Option(help: ArgumentHelp("Write one SVG chart per series (values, scores, thresholds, alerts, labelled windows).", valueName: "DIR"))
    var plot: String?

    @Flag(help: "Also run the evaluation over a grid of threshold factors and report the precision/recall trade-off.")
    var sweep = false

    @Option(help: ArgumentHelp("Daemon configuration whose detector settings to evaluate (default: Configs/vigil.yaml when present, else the built-in defaults); with --tune, the base the tuned values are overlaid on and compared with.", valueName: "PATH"))
    var config: String?

    @Option(name: .customLong("nab-score"), help: ArgumentHelp("Score the NAB results in DIR (another detector's) instead of running Vigil's detectors; needs --labels.", valueName: "DIR"))
    var nabScore: String?

    @Option(name: .customLong("nab-threshold"), help: ArgumentHelp("With --nab-score: also score every detector and profile at this threshold.", valueName: "VALUE"))
    var nabThreshold: Double?

    @Option(name: .customLong("nab-thresholds"), help: ArgumentHelp("With --nab-score: also score at the thresholds of NAB's config/thresholds.json (detector → profile → threshold).", valueName: "PATH"))
    var nabThresholds: String?

    @Option(help: ArgumentHelp("Tune the detector keys a tuning space file lists on the fixtures, cross-validated by file, and print the best settings as a config snippet.", valueName: "SPACE.yaml"))
    var tune: String?

    @Option(help: ArgumentHelp("Seed of --tune's fold assignment and searches: the same inputs and seed give the same output.", valueName: "N"))
    var seed: UInt64 = Tuner.defaultSeed

    func validate() throws {
        if nabScore != nil {
            guard labels != nil else { throw ValidationError("--nab-score needs --labels (NAB's combined_windows.json)") }
            let other = [("--nab-results", nabResults != nil), ("--scores-out", scoresOut != nil), ("--plot", plot != nil),
                         ("--sweep", sweep), ("--config", config != nil)].filter(\.1).map(\.0)
            if !other.isEmpty {
                throw ValidationError("--nab-score scores existing results and runs no detector: \(other.joined(separator: ", ")) cannot be used with it")
            }
        } else if nabThreshold != nil || nabThresholds != nil {
            throw ValidationError("--nab-threshold and --nab-thresholds apply to --nab-score")
        }
        if nabThreshold != nil, nabThresholds != nil {
            throw ValidationError("give either --nab-threshold or --nab-thresholds")
        }
        if let t = nabThreshold, !t.isFinite { throw ValidationError("--nab-threshold must be a finite number") }
        if tune != nil {
            let conflicting = [("--sweep", sweep), ("--plot", plot != nil), ("--nab-results", nabResults != nil), ("--scores-out", scoresOut != nil), ("--nab-score", nabScore != nil)]
                .filter(\.1).map(\.0)
            if !conflicting.isEmpty {
                throw ValidationError("--tune cannot be combined with \(conflicting.joined(separator: ", ")): it writes no per-candidate files")
            }
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
        if let nabScore { return try scoreResults(in: nabScore, fixtures: fixtures, started: started) }
        let read = ContinuousClock.now - started
        let samples = fixtures.reduce(0) { $0 + $1.sampleCount }
        let configuration = try loadConfiguration()
        if let space { return try runTuning(space, configuration, fixtures, samples: samples, read: read) }
        let evaluator = Evaluator(configuration: configuration)
        // A relation naming a sensor an asset of the recordings lacks would never be evaluated.
        let unbound = fixtures.flatMap { f in evaluator.unboundRelations(in: f).map { "\(f.name): \($0)" } }
        if !unbound.isEmpty { throw ValidationError(unbound.joined(separator: "\n")) }
        let runner = EvaluationRunner(evaluator: evaluator, outputs: .init(nabResults: nabResults, scores: scoresOut, plots: plot))

        let bar = ProgressBar(total: samples * (sweep ? 1 + ThresholdSweep.defaultFactors.count : 1))
        let evalStart = ContinuousClock.now
        let report = try runner.run(fixtures, progress: bar.advance)
        let evaluated = ContinuousClock.now - evalStart
        let sweepResult = sweep ? ThresholdSweep(fixtures: fixtures, evaluator: evaluator, concurrency: runner.concurrency, progress: bar.advance) : nil
        bar.finish()

        let nab = report.nabSummary()

        if json {
            var extra: [(key: String, json: String)] = []
            if let nab { extra.append(("nab", nab.json())) }
            if let sweepResult { extra.append(("sweep", sweepResult.json())) }
            print(report.json(extra: extra), terminator: "")
        } else {
            print(report.table(), terminator: "")
            if let nab { print("\n" + nab.table(), terminator: "") }
            if let sweepResult { print("\n" + sweepResult.table(), terminator: "") }
        }
        let seconds = EvaluationFormat.seconds(evaluated)
        FileHandle.standardError.write(Data(String(
            "vigil eval: \(fixtures.count) files, \(samples) samples read in \(EvaluationFormat.text(read)), evaluated in \(EvaluationFormat.text(evaluated)) (\(Int(Double(samples) / max(seconds, 1e-9))) samples/s)\n").utf8))
        try Self.failIfNotScored(nab.map { [$0] } ?? [])
    }

    /// `--nab-score`: NAB's scores of each detector whose results are in `directory`.
    func scoreResults(in directory: String, fixtures: [Fixture], started: ContinuousClock.Instant) throws {
        let detectors = try NABResultsReader.detectors(in: directory, names: fixtures.map(\.name))
        var fixed: [String: [String: Double]]? = nil
        if let path = nabThresholds { fixed = try NABResultsReader.thresholds(path: path) }
        let read = ContinuousClock.now - started
        var scoring = Duration.zero
        let summaries = detectors.map { d in
            var thresholds: [String: Double]? = fixed.map { $0[d.name] ?? [:] }
            if let t = nabThreshold { thresholds = Dictionary(uniqueKeysWithValues: NABProfile.all.map { ($0.name, t) }) }
            let results = NABSummary.results(of: d, fixtures: fixtures)
            let start = ContinuousClock.now
            defer { scoring += ContinuousClock.now - start }
            return NABSummary.scoring(d.name, results: results, thresholds: thresholds)
        }
        if json {
            print("{\"nab\":[" + summaries.map { $0.json() }.joined(separator: ",") + "]}")
        } else {
            print(summaries.map { $0.table() }.joined(separator: "\n"), terminator: "")
        }
        let elapsed = EvaluationFormat.seconds(ContinuousClock.now - started)
        let rows = fixtures.reduce(0) { $0 + $1.rowCount }
        FileHandle.standardError.write(Data(String(
            "vigil eval: NAB scores of \(detectors.count) detector\(detectors.count == 1 ? "" : "s") on \(fixtures.count) files (\(rows) rows) in \(EvaluationFormat.text(elapsed)): data read in \(EvaluationFormat.text(read)), scoring \(EvaluationFormat.text(EvaluationFormat.seconds(scoring)))\n").utf8))
        try Self.failIfNotScored(summaries)
    }

    /// Names every file that could not be NAB-scored on stderr and exits with status 1 if any.
    static func failIfNotScored(_ summaries: [NABSummary]) throws {
        let errors = summaries.flatMap { s in s.notScored.map { (s.detector, $0) } }
        guard !errors.isEmpty else { return }
        for (detector, e) in errors {
            FileHandle.standardError.write(Data("vigil eval: NAB score of \(detector): not scored: \(e)\n".utf8))
        }
        throw ExitCode(1)
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

    static func text(_ s: Double) -> String { String(format: "%.3f s", s) }
    static func text(_ d: Duration) -> String { text(seconds(d)) }
}
