// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilTestKit

/// `vigil eval` through the real executable: NAB scores, `--nab-score`, relative output paths.
@Suite("vigil eval (CLI)")
struct EvalCommandTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path
    /// The bundled NAB case of VigilReplayTests (Numenta's results for `Fixtures/nab`), relative
    /// to the package root; see its README for how NAB's official figures were produced.
    static let bundled = "Tests/VigilReplayTests/Resources/NAB"
    static let labels = bundled + "/labels/combined_windows.json"
    static let shared = SharedData.directory(above: packageRoot.path, holding: "vectors/nab_scoring/expected.json")

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-eval-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func nabScoreGoldenText() throws {
        let r = try runProgram(vigil, ["eval", "--nab-score", Self.bundled + "/results", "--nab-thresholds", Self.bundled + "/thresholds.json",
                                       "--labels", Self.labels, "Fixtures/nab/data"])
        #expect(r.status == 0, "\(r.err)")
        // NAB's official scorer on these two files: 72.21 / 71.85 / 74.81 at its shipped
        // thresholds, 83.43 / 74.05 / 88.96 at the thresholds its optimiser finds.
        #expect(r.out == """
        NAB score of numenta: 2 files, 5 labelled windows (0 = no detection, 100 = perfect)
        profile             optimised  threshold  given  threshold
        standard                83.43   0.484752  72.21   0.542188
        reward_low_FP_rate      74.05   0.602095  71.85   0.575196
        reward_low_FN_rate      88.96   0.484752  74.81   0.542188
        optimised: the threshold NAB's optimiser finds for these files (every score value swept over all of them).
        given: the threshold from --nab-threshold or --nab-thresholds.

        """)
        #expect(r.err.contains("NAB scores of 1 detector on 2 files"))
    }

    @Test func nabScoreJSONHasNABsOfficialFigures() throws {
        let r = try runProgram(vigil, ["eval", "--nab-score", Self.bundled + "/results/numenta", "--nab-threshold", "0.5421876907348634",
                                       "--labels", Self.labels, "Fixtures/nab/data", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let summaries = try #require(try json(r.out)["nab"] as? [[String: Any]])
        #expect(summaries.count == 1)
        #expect(summaries[0]["detector"] as? String == "numenta")
        let profiles = try #require(summaries[0]["profiles"] as? [String: [String: [String: Any]]])
        func figure(_ profile: String, _ column: String, _ key: String) -> Double? { (profiles[profile]?[column]?[key] as? NSNumber)?.doubleValue }
        // NAB's official standard figures at its shipped threshold and at its optimised one.
        #expect(abs((figure("standard", "given", "score") ?? 0) - 72.20804562007947) < 1e-9)
        #expect(abs((figure("reward_low_FN_rate", "given", "score") ?? 0) - 74.80536374671966) < 1e-9)
        #expect(abs((figure("standard", "optimised", "score") ?? 0) - 83.43305927511582) < 1e-9)
        #expect(figure("standard", "given", "tp") == 10 && figure("standard", "given", "fp") == 5)
        #expect((summaries[0]["not_scored"] as? [Any])?.isEmpty == true)
    }

    @Test(.enabled(if: shared != nil, "needs ../shared/vectors/nab_scoring and ../shared/datasets/nab next to the package (absent in a fresh clone)"))
    func nabScoreReproducesTheVectorsFromTheCommandLine() throws {
        let shared = try #require(Self.shared)
        let vectors = shared + "/vectors/nab_scoring"
        let expected = try JSONDecoder().decode([String: [String: [String: Double]]].self,
                                                from: try #require(FileManager.default.contents(atPath: vectors + "/expected.json")))
        // NAB's thresholds file format, from the vectors' shipped thresholds.
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var thresholds = "{"
        for (i, (detector, figures)) in expected.sorted(by: { $0.key < $1.key }).enumerated() {
            thresholds += (i > 0 ? "," : "") + "\"\(detector)\":{"
            thresholds += try #require(figures["shipped_thresholds"]).sorted(by: { $0.key < $1.key })
                .map { "\"\($0.key)\":{\"threshold\":\($0.value)}" }.joined(separator: ",") + "}"
        }
        try Data((thresholds + "}").utf8).write(to: tmp.appendingPathComponent("thresholds.json"))
        let r = try runProgram(vigil, ["eval", "--nab-score", vectors, "--nab-thresholds", tmp.appendingPathComponent("thresholds.json").path,
                                       "--labels", shared + "/datasets/nab/labels/combined_windows.json", shared + "/datasets/nab/data", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let summaries = try #require(try json(r.out)["nab"] as? [[String: Any]])
        #expect(summaries.compactMap { $0["detector"] as? String } == ["ARTime", "numenta", "windowedGaussian"])
        for s in summaries {
            let detector = try #require(s["detector"] as? String)
            let published = try #require(expected[detector])
            #expect(s["files"] as? Int == 58 && s["windows"] as? Int == 116)
            let profiles = try #require(s["profiles"] as? [String: [String: [String: Any]]])
            for (profile, official) in try #require(published["final_score_shipped_thresholds"]) {
                let got = try #require((profiles[profile]?["given"]?["score"] as? NSNumber)?.doubleValue)
                #expect(abs(got - official) <= 0.01, "\(detector) \(profile): \(got) vs \(official)")
            }
            for (profile, official) in published["final_score_optimised_thresholds"] ?? [:] {
                let got = try #require((profiles[profile]?["optimised"]?["score"] as? NSNumber)?.doubleValue)
                #expect(abs(got - official) <= 0.15, "\(detector) \(profile) optimised: \(got) vs \(official)")
            }
        }
    }

    @Test func nabScoreNamesAMissingResultsFileAndScoresTheRest() throws {
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let results = tmp.appendingPathComponent("results").path
        try FileManager.default.copyItem(atPath: packageRoot.path + "/" + Self.bundled + "/results", toPath: results)
        let missing = results + "/numenta/artificialWithAnomaly/numenta_art_daily_jumpsup.csv"
        try FileManager.default.removeItem(atPath: missing)
        let r = try runProgram(vigil, ["eval", "--nab-score", results, "--labels", Self.labels, "Fixtures/nab/data"])
        #expect(r.status == 1)
        #expect(r.err.contains("not scored: \(missing): missing file"), "\(r.err)")
        #expect(r.out.hasPrefix("NAB score of numenta: 1 file, 4 labelled windows"), "\(r.out)")
    }

    @Test func nabScoreRefusesDetectorOutputs() throws {
        let r = try runProgram(vigil, ["eval", "--nab-score", Self.bundled + "/results", "--labels", Self.labels, "--plot", "/tmp/x", "Fixtures/nab/data"])
        #expect(r.status == 64)
        #expect(r.err.contains("--plot cannot be used with it"), "\(r.err)")
        let noLabels = try runProgram(vigil, ["eval", "--nab-score", Self.bundled + "/results", "Fixtures/nab/data"])
        #expect(noLabels.status == 64 && noLabels.err.contains("--nab-score needs --labels"))
    }

    @Test func evalReportsTunedAndDeployedNABScores() throws {
        let r = try runProgram(vigil, ["eval", "Fixtures/nab/data", "--labels", "Fixtures/nab/labels/combined_windows.json", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let nab = try #require(try json(r.out)["nab"] as? [String: Any])
        #expect(nab["detector"] as? String == "vigil" && nab["files"] as? Int == 2 && nab["windows"] as? Int == 5)
        let profiles = try #require(nab["profiles"] as? [String: [String: [String: Any]]])
        #expect(Set(profiles.keys) == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"])
        for (profile, columns) in profiles {
            let tuned = try #require((columns["tuned"]?["score"] as? NSNumber)?.doubleValue)
            let deployed = try #require((columns["deployed"]?["score"] as? NSNumber)?.doubleValue)
            #expect(tuned >= deployed, "\(profile)")
            #expect((columns["deployed"]?["threshold"] as? NSNumber)?.doubleValue == 0.5)
            #expect((columns["tuned"]?["threshold"] as? NSNumber) != nil)
        }
        let text = try runProgram(vigil, ["eval", "Fixtures/nab/data", "--labels", "Fixtures/nab/labels/combined_windows.json"])
        #expect(text.out.contains("NAB score of vigil: 2 files, 5 labelled windows"))
        #expect(text.out.contains("profile             tuned  threshold  deployed  threshold"), "\(text.out)")
    }

    @Test func aLabelThatIsNoRowIsNamedAndTheReportStillPrinted() throws {
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let labels = try String(contentsOfFile: packageRoot.path + "/Fixtures/nab/labels/combined_windows.json", encoding: .utf8)
            .replacingOccurrences(of: "2014-04-10 16:15:00.000000", with: "2014-04-10 16:16:00.000000")   // 1 min after a row
        let path = tmp.appendingPathComponent("labels.json").path
        try Data(labels.utf8).write(to: URL(fileURLWithPath: path))
        let r = try runProgram(vigil, ["eval", "Fixtures/nab/data", "--labels", path])
        #expect(r.status == 1)
        #expect(r.err.contains("Fixtures/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv: label not in data"), "\(r.err)")
        #expect(r.out.contains("artificialWithAnomaly/art_daily_jumpsup.csv") && r.out.contains("total (2 labelled files)"))
        #expect(r.out.contains("NAB score of vigil: 1 file, 4 labelled windows"))
    }

    @Test func outputsKeepRelativePathsAndConflictsAreRefused() throws {
        let tmp = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let source = try String(contentsOfFile: packageRoot.path + "/Fixtures/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv", encoding: .utf8)
        for folder in ["valve1", "valve2"] {
            try FileManager.default.createDirectory(at: tmp.appendingPathComponent(folder), withIntermediateDirectories: true)
            try Data(source.utf8).write(to: tmp.appendingPathComponent(folder + "/0.csv"))
        }
        let r = try runProgram(vigil, ["eval", "valve1/0.csv", "./valve2/0.csv", "--scores-out", "out", "--nab-results", "nab"], in: tmp)
        #expect(r.status == 0, "\(r.err)")
        for path in ["out/valve1/0.csv", "out/valve2/0.csv", "nab/vigil/valve1/vigil_0.csv", "nab/vigil/valve2/vigil_0.csv"] {
            #expect(FileManager.default.fileExists(atPath: tmp.appendingPathComponent(path).path), "\(path)")
        }
        let names = r.out.split(separator: "\n").dropFirst().prefix(2).map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["valve1/0.csv", "valve2/0.csv"])
        // Two directory walks name both files `0.csv`: refused, nothing written.
        let conflict = try runProgram(vigil, ["eval", "valve1", "valve2", "--scores-out", "out2"], in: tmp)
        #expect(conflict.status != 0)
        #expect(conflict.err.contains("out2/0.csv: conflicting outputs: both valve1/0.csv and valve2/0.csv would write it"), "\(conflict.err)")
        #expect(!FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out2").path))
    }
}
