// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilTestKit

/// `vigil eval --tune` as an engineer runs it: the real command, on the bundled fixtures.
@Suite("vigil eval --tune")
struct TuneCommandTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path
    let fixtures = ["Fixtures/synthetic/pump7.csv", "Fixtures/nab/data", "--labels", "Fixtures/nab/labels/combined_windows.json"]

    /// A base that never alerts (raw z-score at 40σ) and a small space around sensible values.
    func files() throws -> (dir: String, base: String, space: String) {
        let dir = TestNetwork.temporaryDirectory("tune")
        let base = dir + "/bad.yaml", space = dir + "/space.yaml"
        try "detectors:\n  surprise: {enabled: false}\n  zscore: {enabled: true, threshold: 40, critical: 50}\n  combine: {enabled: false}\n  pca: {enabled: false}\n"
            .write(toFile: base, atomically: true, encoding: .utf8)
        try """
            budget: 6
            folds: 3
            objective: event_f1
            parameters:
              detectors.zscore.threshold: {min: 3, max: 20, scale: log}
              detectors.zscore.window: {min: 32, max: 512, scale: log}
              detectors.alerts.raise_after: {min: 1, max: 5}
            """.write(toFile: space, atomically: true, encoding: .utf8)
        return (dir, base, space)
    }

    /// The number after `prefix` on the line that starts with it.
    func number(after prefix: String, in text: String) throws -> Double {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(prefix) }, "no line \(prefix) in\n\(text)")
        let rest = line.dropFirst(prefix.count).prefix { $0 == "." || $0.isNumber }
        return try #require(Double(rest))
    }

    @Test("improves on a bad base, prints a snippet that check-config accepts and eval reproduces, byte for byte again")
    func tunesTheBundledFixtures() throws {
        let (dir, base, space) = try files()
        let args = ["eval", "--tune", space, "--config", base, "--seed", "7"] + fixtures
        let run = try runProgram(vigil, args)
        #expect(run.status == 0, "\(run.err)")
        let out = run.out
        #expect(out.hasPrefix("Tuning 3 parameters of \(space) for event_f1 on 3 files in 3 folds (budget 6 per search, seed 7)\n"))
        let heldOut = try number(after: "Held-out event_f1: ", in: out)
        let baseHeldOut = try number(after: "Held-out event_f1: \(String(format: "%.3f", heldOut)) (base configuration ", in: out)
        #expect(baseHeldOut == 0, "the bad base never alerts")
        #expect(heldOut > baseHeldOut, "\(out)")
        #expect(out.contains("Evaluations: 24 (4 searches of up to 6: 3 folds and the final one)"))
        #expect(run.err.contains("vigil eval --tune: 3 files"), "timing goes to stderr")

        // The same command again: the same output, byte for byte.
        let again = try runProgram(vigil, args)
        #expect(again.out == out)

        // The snippet: valid on its own, and `vigil eval` with it finds what the tuner reported.
        let snippet = try #require(out.range(of: "# vigil eval --tune ")).lowerBound
        let snippetPath = dir + "/tuned.yaml"
        try String(out[snippet...]).write(toFile: snippetPath, atomically: true, encoding: .utf8)
        let check = try runProgram(vigil, ["check-config", "--quiet", snippetPath])
        #expect(check.status == 0, "\(check.err)")
        let tunedLine = try #require(out.split(separator: "\n").first { $0.hasPrefix("  tuned: ") })
        let eval = try runProgram(vigil, ["eval", "--json", "--config", snippetPath] + fixtures)
        #expect(eval.status == 0, "\(eval.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as? [String: Any])
        let event = try #require((json["total"] as? [String: Any])?["event"] as? [String: Any])
        let found = try #require(event["found"] as? Int), windows = try #require(event["windows"] as? Int)
        let alarms = try #require(event["alarms"] as? Int)
        #expect(tunedLine.hasSuffix("(\(found)/\(windows) windows, \(alarms) alarm\(alarms == 1 ? "" : "s"))"), "\(tunedLine)")
    }

    @Test("JSON output, and a different seed still gives valid settings")
    func jsonAndSeed() throws {
        let (_, base, space) = try files()
        let run = try runProgram(vigil, ["eval", "--tune", space, "--config", base, "--seed", "8", "--json"] + fixtures)
        #expect(run.status == 0, "\(run.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        #expect(json["objective"] as? String == "event_f1" && json["seed"] as? Int == 8 && json["evaluations"] as? Int == 24)
        #expect((json["folds"] as? [Any])?.count == 3)
        let settings = try #require((json["final"] as? [String: Any])?["settings"] as? [String: String])
        let threshold = try #require(settings["detectors.zscore.threshold"].flatMap(Double.init))
        let window = try #require(settings["detectors.zscore.window"].flatMap(Int.init))
        #expect(threshold >= 3 && threshold <= 20 && window >= 32 && window <= 512)
        #expect((json["snippet"] as? String)?.contains("detectors:\n") == true)
    }

    @Test("a bad space file is refused with file:line:col before anything runs; --tune refuses per-file outputs")
    func refusals() throws {
        let (dir, _, _) = try files()
        let space = dir + "/typo.yaml"
        try "parameters:\n  detectors.zscore.treshold: {min: 3, max: 10}\n".write(toFile: space, atomically: true, encoding: .utf8)
        let bad = try runProgram(vigil, ["eval", "--tune", space] + fixtures)
        #expect(bad.status != 0)
        #expect(bad.err.contains("\(space):2:3: parameters.detectors.zscore.treshold: unknown key, did you mean \"detectors.zscore.threshold\"?"),
                "\(bad.err)")
        let plot = try runProgram(vigil, ["eval", "--tune", space, "--plot", dir] + fixtures)
        #expect(plot.status != 0)
        #expect(plot.err.contains("--tune cannot be combined with --plot"), "\(plot.err)")
    }

    @Test("--help documents tuning")
    func help() throws {
        let help = try runProgram(vigil, ["eval", "--help"])
        #expect(help.out.contains("--tune <SPACE.yaml>") && help.out.contains("--seed <N>"))
        #expect(help.out.contains("Tuning from history"))
    }
}
