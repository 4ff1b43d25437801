// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
@testable import VigilReplay

/// The bundled NAB case (`Resources/NAB`, see its README): Numenta's published anomaly scores for
/// the two series in `Fixtures/nab/data`, scored by NAB's official scorer.
enum BundledNAB {
    /// `Resources/NAB` in the test bundle.
    static var root: String {
        get throws { try #require(Bundle.module.url(forResource: "NAB", withExtension: nil, subdirectory: "Resources")).path }
    }

    /// The two series with the bundled labels.
    static func fixtures() throws -> [Fixture] {
        let labels = try NABLabels(path: try root + "/labels/combined_windows.json")
        return try FixtureLoader(labels: labels).load([repositoryRoot + "/Fixtures/nab/data"])
    }

    /// NAB's official figures for this two-file corpus (NAB `ea702d7`, `run.py --score
    /// --normalize` with its shipped thresholds, then `run.py --optimize --score --normalize`;
    /// the commands are in `Resources/NAB/README.md`): profile, shipped threshold, final score,
    /// raw total and TP/TN/FP/FN rows at it, optimised threshold and final score.
    static let official: [(profile: NABProfile, threshold: Double, score: Double, raw: Double, counts: [Int],
                           optimisedThreshold: Double, optimisedScore: Double)] = [
        (.standard, 0.5421876907348634, 72.20804562007947, 2.220804562007948, [10, 22697, 5, 2661], 0.484751543379, 83.43305927511582),
        (.rewardLowFPRate, 0.5751955032348636, 71.85205994978509, 2.185205994978509, [8, 22699, 3, 2663], 0.602095149663, 74.0520599497851),
        (.rewardLowFNRate, 0.5421876907348634, 74.80536374671966, 1.220804562007948, [10, 22697, 5, 2661], 0.484751543379, 88.95537285007723),
    ]
}

@Suite("NAB scorer (bundled case)")
struct NABBundledTests {
    @Test func matchesNABsOfficialScorer() throws {
        let root = try BundledNAB.root
        let thresholds = try #require(try NABResultsReader.thresholds(path: root + "/thresholds.json")["numenta"])
        let detectors = try NABResultsReader.detectors(in: root + "/results", names: try BundledNAB.fixtures().map(\.name))
        #expect(detectors == [.init(name: "numenta", path: root + "/results/numenta")])
        let summary = NABSummary.scoring(detectors[0], fixtures: try BundledNAB.fixtures(), thresholds: thresholds)
        #expect(summary.notScored.isEmpty)
        #expect(summary.files == 2 && summary.windows == 5)
        for o in BundledNAB.official {
            let given = try #require(summary.score(o.profile.name, "given"))
            #expect(given.threshold == o.threshold)
            #expect(abs(try #require(given.normalised) - o.score) < 1e-9, "\(o.profile.name): \(given)")
            #expect(abs(given.raw - o.raw) < 1e-12)
            #expect([given.truePositives, given.trueNegatives, given.falsePositives, given.falseNegatives] == o.counts)
            let optimised = try #require(summary.score(o.profile.name, "optimised"))
            #expect(optimised.threshold == o.optimisedThreshold, "\(o.profile.name)")
            #expect(abs(try #require(optimised.normalised) - o.optimisedScore) < 1e-9, "\(o.profile.name): \(optimised)")
        }
    }

    // MARK: Bad input

    /// A copy of the bundled results in a temporary folder, for tests that damage it.
    func scratchCopy() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-nab-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: try BundledNAB.root + "/results", toPath: dir)
        return dir
    }

    @Test func aMissingResultsFileIsNamedAndTheOtherFileIsStillScored() throws {
        let dir = try scratchCopy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = dir + "/numenta/artificialWithAnomaly/numenta_art_daily_jumpsup.csv"
        try FileManager.default.removeItem(atPath: missing)
        let fixtures = try BundledNAB.fixtures()
        let summary = NABSummary.scoring(.init(name: "numenta", path: dir + "/numenta"), fixtures: fixtures)
        #expect(summary.notScored.count == 1)
        #expect(summary.notScored.first?.code == .missingFile)
        #expect(summary.notScored.first?.file == missing)
        #expect(summary.files == 1 && summary.windows == 4)
        // The file that remains is scored exactly as it is on its own.
        let alone = NABSummary.scoring(.init(name: "numenta", path: dir + "/numenta"), fixtures: [fixtures[1]])
        #expect(summary.score("standard", "optimised") == alone.score("standard", "optimised"))
        #expect(summary.table().contains("not scored: \(missing): missing file"))
    }

    @Test("a results file that does not match its data file is refused, naming it", arguments: [
        ("short", FixtureError.Code.resultsMismatch, "rows, but"),
        ("shifted", .resultsMismatch, "but row 1 of"),
        ("no score column", .badHeader, "no anomaly_score column"),
        ("nan score", .badNumber, "not a finite number"),
    ])
    func mismatchedResults(damage: String, code: FixtureError.Code, message: String) throws {
        let dir = try scratchCopy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/numenta/artificialWithAnomaly/numenta_art_daily_jumpsup.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        switch damage {
        case "short": lines.removeLast(3)
        case "shifted": lines.remove(at: 1)
        case "no score column": lines[0] = "timestamp,score"
        default: lines[10] = lines[10].split(separator: ",")[0] + ",nan"
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let fixture = try BundledNAB.fixtures()[0]
        do throws(FixtureError) {
            _ = try NABResultsReader.anomalyScores(path: path, fixture: fixture)
            Issue.record("\(damage) results were accepted")
        } catch {
            #expect(error.code == code)
            #expect(error.file == path)
            #expect(error.description.contains(message), "\(error)")
        }
        // In a corpus, only that file is left out.
        let summary = NABSummary.scoring(.init(name: "numenta", path: dir + "/numenta"), fixtures: try BundledNAB.fixtures())
        #expect(summary.notScored.map(\.file) == [path])
        #expect(summary.files == 1)
    }

    @Test func aLabelTimestampThatIsNoRowIsNamedAndTheOtherFileIsStillScored() throws {
        var fixtures = try BundledNAB.fixtures()
        var windows = fixtures[0].windows
        windows[0] = LabelWindow(start: windows[0].start + 1, end: windows[0].end)   // 1 ns after a row
        fixtures[0].applyWindows(windows)
        let summary = NABSummary.scoring(.init(name: "numenta", path: try BundledNAB.root + "/results/numenta"), fixtures: fixtures)
        #expect(summary.notScored.count == 1)
        #expect(summary.notScored.first?.code == .labelNotInData)
        #expect(summary.notScored.first?.file == fixtures[0].path)
        #expect(summary.files == 1)
    }

    @Test func noResultsAtAllIsAnError() throws {
        #expect(throws: FixtureError.self) {
            try NABResultsReader.detectors(in: repositoryRoot + "/Fixtures", names: ["realKnownCause/machine_temperature_system_failure.csv"])
        }
        #expect(throws: FixtureError.self) { try NABResultsReader.detectors(in: "/nonexistent", names: ["a.csv"]) }
        #expect(throws: FixtureError.self) { try NABResultsReader.thresholds(path: "/nonexistent/thresholds.json") }
    }

    @Test func resultsFileCandidates() {
        let d = NABResultsReader.Detector(name: "numenta", path: "/r/numenta")
        #expect(NABResultsReader.candidates(of: "realKnownCause/x.csv", in: d) == [
            "/r/numenta/realKnownCause/numenta_x.csv", "/r/numenta/realKnownCause/x.csv",
            "/r/numenta/numenta_x.csv", "/r/numenta/x.csv",
        ])
    }
}
