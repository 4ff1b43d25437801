// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
@testable import VigilReplay

/// Outputs keep each input's relative path, and two inputs that would write one output file
/// are refused before anything is written (issue 7, part 9).
@Suite("Output paths")
struct OutputPathTests {
    let evaluator = Evaluator(settings: { _ in testSettings })

    @Test("a file named directly is named by its path, made relative", arguments: [
        ("valve1/0.csv", "valve1/0.csv"), ("./valve1/0.csv", "valve1/0.csv"), ("/data/plant/0.csv", "data/plant/0.csv"),
        ("../shared/x.csv", "shared/x.csv"), ("a/./b/../c.csv", "a/c.csv"), ("a//b.csv", "a/b.csv"), ("x.csv", "x.csv"),
    ])
    func relativeName(path: String, expected: String) {
        #expect(FixtureLoader.relativeName(of: path) == expected)
    }

    /// A folder with NAB-style files at `paths` (relative), 60 rows each.
    func folder(_ paths: [String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-paths-\(UUID().uuidString)").path
        var csv = "timestamp,value\n"
        for i in 0..<60 { csv += "2021-06-01 00:\(i < 10 ? "0" : "")\(i):00,\(i % 7 == 0 ? 30 : 10 + i % 3)\n" }
        for p in paths {
            let full = dir + "/" + p
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(csv.utf8).write(to: URL(fileURLWithPath: full))
        }
        return dir
    }

    /// Every file (not folder) under `dir`, relative, sorted.
    func files(under dir: String) -> [String] {
        let all = FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []
        return all.filter { rel in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    @Test func twoFilesWithOneNameInDifferentFoldersKeepTheirPaths() throws {
        let dir = try folder(["valve1/0.csv", "valve2/0.csv"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = try FixtureLoader().load([dir + "/valve1/0.csv", dir + "/valve2/0.csv"])
        let prefix = FixtureLoader.relativeName(of: dir)
        #expect(fixtures.map(\.name) == [prefix + "/valve1/0.csv", prefix + "/valve2/0.csv"])
        let out = dir + "/out"
        let report = try EvaluationRunner(evaluator: evaluator, outputs: .init(nabResults: out + "/nab", scores: out + "/scores", plots: out + "/plots"))
            .run(fixtures)
        #expect(Set(report.files.map(\.name)).count == 2)
        #expect(files(under: out) == [
            "nab/vigil/\(prefix)/valve1/vigil_0.csv", "nab/vigil/\(prefix)/valve2/vigil_0.csv",
            "plots/\(prefix)/valve1/0.svg", "plots/\(prefix)/valve2/0.svg",
            "scores/\(prefix)/valve1/0.csv", "scores/\(prefix)/valve2/0.csv",
        ].sorted())
    }

    @Test func aDirectoryWalkKeepsPathsRelativeToTheDirectoryGiven() throws {
        let dir = try folder(["plant/a/pump.csv", "plant/b/pump.csv", "plant/pump.csv"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = try FixtureLoader().load([dir + "/plant"])
        #expect(fixtures.map(\.name) == ["a/pump.csv", "b/pump.csv", "pump.csv"])
        let out = dir + "/out"
        _ = try EvaluationRunner(evaluator: evaluator, outputs: .init(nabResults: out + "/nab", scores: out + "/scores", plots: out + "/plots"))
            .run(fixtures)
        #expect(files(under: out) == [
            "nab/vigil/a/vigil_pump.csv", "nab/vigil/b/vigil_pump.csv", "nab/vigil/plant/vigil_pump.csv",
            "plots/a/pump.svg", "plots/b/pump.svg", "plots/pump.svg",
            "scores/a/pump.csv", "scores/b/pump.csv", "scores/pump.csv",
        ])
    }

    @Test("two inputs that would write one output are refused and nothing is written", arguments: ["scores", "nab", "plots"])
    func conflictingOutputsAreRefused(output: String) throws {
        let dir = try folder(["a/site/pump.csv", "b/site/pump.csv"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two directory walks give both files the name `pump.csv` (and the folder `site`).
        let fixtures = try FixtureLoader().load([dir + "/a/site", dir + "/b/site"])
        #expect(fixtures.map(\.name) == ["pump.csv", "pump.csv"])
        let out = dir + "/out"
        let outputs: EvaluationRunner.Outputs = switch output {
        case "scores": .init(scores: out)
        case "nab": .init(nabResults: out)
        default: .init(plots: out)
        }
        let runner = EvaluationRunner(evaluator: evaluator, outputs: outputs)
        do throws(FixtureError) {
            _ = try runner.run(fixtures)
            Issue.record("conflicting \(output) outputs were accepted")
        } catch {
            #expect(error.code == .conflictingOutputs)
            #expect(error.description.contains(dir + "/a/site/pump.csv") && error.description.contains(dir + "/b/site/pump.csv"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        // Without outputs there is nothing to overwrite: the run goes ahead.
        #expect(try EvaluationRunner(evaluator: evaluator).run(fixtures).files.count == 2)
    }
}
