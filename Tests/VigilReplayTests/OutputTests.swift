// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import VigilCore
@testable import VigilReplay

@Suite("Outputs")
struct OutputTests {
    let evaluator = Evaluator(settings: { _ in testSettings })

    func nabFixture() throws -> Fixture {
        let labels = try NABLabels(path: repositoryRoot + "/Fixtures/nab/labels/combined_windows.json")
        return try FixtureLoader(labels: labels).load([repositoryRoot + "/Fixtures/nab/data/realKnownCause"])[0]
    }

    @Test func svgIsWellFormedAndHasEveryPart() throws {
        let run = evaluator.run(smallFixture)
        let svg = SVGPlot.render(run, sensor: 0)
        let doc = try XMLDocument(data: Data(svg.utf8))
        let root = try #require(doc.rootElement())
        #expect(root.name == "svg")
        func element(_ id: String) throws -> XMLElement {
            try #require(try root.nodes(forXPath: "//*[@id='\(id)']").first as? XMLElement, "no #\(id)")
        }
        for id in ["title", "values", "scores", "thresholds", "alerts", "windows", "x-axis", "y-axis-values", "y-axis-scores", "legend"] {
            _ = try element(id)
        }
        #expect(try element("title").stringValue == "small/a")
        // One shaded rect per labelled window, one score line and threshold for z-score.
        #expect(try root.nodes(forXPath: "//*[@class='window']").count == smallFixture.windows.count)
        #expect(try root.nodes(forXPath: "//*[@class='score']").count == 1)
        #expect(try root.nodes(forXPath: "//*[@class='threshold']").count == 1)
        // Alerts of sensor `a` as bands.
        let raisedOnA = run.alarms.filter { $0.sensor == 0 }.count
        #expect(raisedOnA > 0)
        #expect(try root.nodes(forXPath: "//*[@class='alert']").count == raisedOnA)
        // Time labels and a legend naming each element.
        let ticks = try root.nodes(forXPath: "//*[@class='tick-label']").compactMap(\.stringValue)
        #expect(ticks.count >= 3 && ticks.allSatisfy { $0.contains(":") })
        let legend = try root.nodes(forXPath: "//*[@class='legend-entry']").compactMap(\.stringValue)
        #expect(legend == ["a", "zscore score", "zscore threshold", "zscore alert", "labelled anomaly (asset)"])
        // Path data starts with a move and stays within the drawing.
        let d = try #require(try root.nodes(forXPath: "//*[@id='values']/@d").first?.stringValue)
        #expect(d.hasPrefix("M"))
    }

    @Test func svgOfALongSeriesIsReduced() throws {
        let run = evaluator.run(try nabFixture())
        let svg = SVGPlot.render(run, sensor: 0)
        #expect(svg.utf8.count < 400_000)   // 22,695 rows drawn as a per-pixel envelope
        let doc = try XMLDocument(data: Data(svg.utf8))
        #expect(try doc.nodes(forXPath: "//*[@class='window']").count == 4)
        #expect(SVGPlot.relativePath(run.fixture, sensor: 0) == "machine_temperature_system_failure.svg")
        #expect(SVGPlot.relativePath(smallFixture, sensor: 1) == "plant/small/b.svg")
    }

    @Test func nabResultsFormat() throws {
        let fixture = try nabFixture()
        let run = evaluator.run(fixture)
        // The fixture was found in realKnownCause/, so that is its category.
        #expect(NABResults.relativePath(fixture, sensor: 0) == "vigil/realKnownCause/vigil_machine_temperature_system_failure.csv")
        let lines = NABResults.text(run, sensor: 0).split(separator: "\n")
        #expect(lines[0] == "timestamp,value,anomaly_score,label")
        #expect(lines.count == fixture.rowCount + 1)
        #expect(lines[1] == "2013-12-02 21:15:00,73.96732207,0.0,0")
        let cells = lines.dropFirst().map { $0.split(separator: ",") }
        #expect(cells.filter { $0[3] == "1" }.count == fixture.pointLabels.filter { $0 }.count)
        #expect(cells.allSatisfy { Double($0[2])! >= 0 && Double($0[2])! <= 1 })
        // 0.5 is exactly the alert threshold: rows at or above it exist since alerts were raised.
        #expect(cells.contains { Double($0[2])! >= 0.5 })
        #expect(NABResults.relativePath(smallFixture, sensor: 1) == "vigil/plant/vigil_small.b.csv")
    }

    @Test func scoresCSV() throws {
        let run = evaluator.run(smallFixture)
        let lines = ScoresCSV.text(run).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "timestamp,small/a:zscore,small/b:zscore,score,alert")
        #expect(lines.count == smallFixture.rowCount + 2)   // header, rows, final empty
        #expect(lines[1] == "2021-06-01 00:00:00,,,,0")     // warming up: no scores
        let rows = lines.dropFirst().dropLast().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.map { $0[4] == "1" } == run.alerting)
        #expect(rows.enumerated().allSatisfy { String($1[0]) == smallFixture.timestampText(row: $0) })
        #expect(Double(rows[100][3]) == run.score[100])
    }

    @Test func runnerWritesEveryOutput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-eval-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = EvaluationRunner(evaluator: evaluator, outputs: .init(nabResults: dir + "/nab", scores: dir + "/scores", plots: dir + "/plots"))
        let report = try runner.run([smallFixture])
        #expect(report.files.count == 1)
        for path in ["nab/vigil/plant/vigil_small.a.csv", "nab/vigil/plant/vigil_small.b.csv", "scores/plant/small.csv",
                     "plots/plant/small/a.svg", "plots/plant/small/b.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + path), "\(path)")
        }
        // An output directory that cannot be created is a clear error.
        let blocked = EvaluationRunner(evaluator: evaluator, outputs: .init(plots: "/proc/vigil-cannot-write"))
        #expect(throws: FixtureError.self) { try blocked.run([smallFixture]) }
    }
}
