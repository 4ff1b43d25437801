// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
@testable import VigilReplay

/// The repository's root, found from this file's path (tests read `Fixtures/`).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The NAB corpus in the team's shared folder (`../shared/datasets/nab`), nil when absent.
let sharedNAB = SharedData.directory(above: repositoryRoot, holding: "datasets/nab/labels/combined_windows.json").map { $0 + "/datasets/nab" }

@Suite("Fixture readers")
struct FixtureReaderTests {
    func wide(_ text: String, name: String = "pump7.csv") throws -> Fixture {
        try WideCSVReader().read(bytes: Array(text.utf8), name: name)
    }

    func error(_ body: () throws -> Void) -> FixtureError? {
        do { try body(); return nil } catch let e as FixtureError { return e } catch { return nil }
    }

    @Test func nabFileWithLabels() throws {
        let csv = "timestamp,value\n2014-04-01 00:00:00,10\n2014-04-01 00:05:00,11.5\n2014-04-01 00:10:00,-3e2\n2014-04-01 00:20:00,nan\n"
        let labels = NABLabels(windows: ["cat/x.csv": [LabelWindow(start: Timestamp.parse("2014-04-01 00:05:00")!, end: Timestamp.parse("2014-04-01 00:10:00")!)]])
        let f = try NABReader().read(bytes: Array(csv.utf8), name: "cat/x.csv", labels: labels)
        #expect(f.sensors == ["x/value"])
        #expect(f.rowCount == 4)
        #expect(f.values[0][0...2] == [10, 11.5, -300])
        #expect(f.values[0][3].isNaN)
        #expect(f.nonFiniteCells == 1)
        #expect(f.sampleCount == 3)
        #expect(f.pointLabels == [false, true, true, false])
        #expect(f.isLabelled)
        #expect(f.timestampText(row: 1) == "2014-04-01 00:05:00")
        #expect(f.timestamps[3] - f.timestamps[2] == 600 * Timestamp.nanosecondsPerSecond)  // a gap is kept as is
    }

    @Test func labelsMatchByPathSuffix() throws {
        let json = #"{"realKnownCause/nyc_taxi.csv": [["2014-11-01 19:00:00.000000", "2014-11-02 00:00:00.000000"]], "other.csv": []}"#
        let labels = try NABLabels(json: Data(json.utf8), file: "l.json")
        #expect(labels.windows(name: "nyc_taxi.csv", path: "/data/nab/realKnownCause/nyc_taxi.csv")?.count == 1)
        #expect(labels.windows(name: "other.csv", path: "x/other.csv") == [])
        #expect(labels.windows(name: "nope.csv", path: "/nope.csv") == nil)
        #expect(error { _ = try NABLabels(json: Data(#"{"a.csv": [["2014-11-01", "yesterday"]]}"#.utf8), file: "l.json") }?.code == .badTimestamp)
        #expect(error { _ = try NABLabels(json: Data(#"{"a.csv": [["2014-11-01"]]}"#.utf8), file: "l.json") }?.code == .badLabelsFile)
        #expect(error { _ = try NABLabels(json: Data("[1]".utf8), file: "l.json") }?.code == .badLabelsFile)
    }

    @Test func wideCommaSeparatedWithLabelsAndGaps() throws {
        let csv = """
        time,vibration,temperature,anomaly,changepoint
        2020-03-09 10:14:33,0.5,40,0,0
        2020-03-09 10:14:34,,41,0,0
        2020-03-09 10:15:40,0.7,NaN,1,1
        2020-03-09 10:15:41,0.9,43,1,0
        2020-03-09 10:15:42,0.1,44,0,0
        2020-03-09 10:15:43,0.2,45,1,0

        """
        let f = try wide(csv)
        #expect(f.columns == ["vibration", "temperature"])
        #expect(f.sensors == ["pump7/vibration", "pump7/temperature"])
        #expect(f.rowCount == 6)
        #expect(f.values[0][1].isNaN && f.values[1][2].isNaN)
        #expect(f.emptyCells == 1 && f.nonFiniteCells == 1)
        #expect(f.pointLabels == [false, false, true, true, false, true])
        #expect(f.changepoints == [false, false, true, false, false, false])
        #expect(f.windows.count == 2)
        #expect(f.windows[0] == LabelWindow(start: f.timestamps[2], end: f.timestamps[3]))
        #expect(f.windows[1] == LabelWindow(start: f.timestamps[5], end: f.timestamps[5]))
    }

    @Test func wideSemicolonWithDecimalCommaAndTimestampForms() throws {
        let csv = "datetime;pressure;flow\r\n2020-03-09T10:14:33Z;1,5;2\r\n1583748874;2,25;3\r\n1583748875000000000;\"3,0\";4\r\n2020-03-09T11:14:36+01:00;4;5\r\n"
        let f = try wide(csv)
        #expect(f.values[0] == [1.5, 2.25, 3, 4])
        #expect(f.values[1] == [2, 3, 4, 5])
        #expect(f.timestamps == [1_583_748_873, 1_583_748_874, 1_583_748_875, 1_583_748_876].map { $0 * Timestamp.nanosecondsPerSecond })
        #expect(!f.isLabelled)
        #expect(f.timestampText(row: 0) == "2020-03-09T10:14:33Z")
    }

    @Test func numbersMatchTheStandardLibrary() throws {
        let cells = ["0", "-0", "1", "0.1", "123456.789", "1e-5", "2.5E+3", "-7.25", "+3", ".5", "5.", "12345678901234567890",
                     "0.000000000000000000000001", "3.141592653589793238", "1e300", "4.9e-324", "9007199254740993", "0.30000000000000004"]
        for cell in cells {
            let bytes = Array(cell.utf8)
            let parsed = bytes.withUnsafeBufferPointer { CSVScanner.number($0, 0..<bytes.count, decimalComma: false) }
            guard case .value(let v) = parsed else { Issue.record("\(cell) did not parse"); continue }
            #expect(v.bitPattern == Double(cell)!.bitPattern, "\(cell)")
        }
        for bad in ["abc", "1.2.3", "1e", "--1", "1,5", "0x10", "1 2"] {
            let bytes = Array(bad.utf8)
            let parsed = bytes.withUnsafeBufferPointer { CSVScanner.number($0, 0..<bytes.count, decimalComma: false) }
            if case .invalid = parsed {} else { Issue.record("\(bad) should be invalid") }
        }
    }

    @Test(arguments: [
        ("timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,x\n", FixtureError.Code.badNumber, 3),
        ("timestamp,value\n2020-01-01 00:00:00,1\nsoon,2\n", .badTimestamp, 3),
        ("timestamp,value\n2020-01-01 00:00:00,1,7\n", .wrongColumnCount, 2),
        ("", .badHeader, 1),
        ("2020-01-01 00:00:00,1\n", .badHeader, 1),
        ("time,a,a\n2020-01-01 00:00:00,1,2\n", .badHeader, 1),
        ("time,,b\n", .badHeader, 1),
        ("time,anomaly\n", .badHeader, 1),
        ("time,a,anomaly\n2020-01-01 00:00:00,1,2\n", .badLabel, 2),
        ("\n\ntime;a;b\n2020-01-01 00:00:00;1\n", .wrongColumnCount, 4),
    ])
    func errorsNameFileLineAndReason(text: String, code: FixtureError.Code, line: Int) {
        let e = error { _ = try wide(text, name: "bad.csv") }
        #expect(e?.code == code)
        #expect(e?.line == line)
        #expect(e?.file == "bad.csv")
        #expect(e.map { $0.description.hasPrefix("bad.csv:\(line): \(code): ") } == true, "\(String(describing: e))")
    }

    @Test func nabHeaderIsRequired() {
        #expect(error { _ = try NABReader().read(bytes: Array("time,v\n".utf8), name: "n.csv") }?.code == .badHeader)
    }

    @Test func missingFileAndDirectoryWalk() throws {
        #expect(error { _ = try FixtureLoader().load(["/nonexistent/x.csv"]) }?.code == .missingFile)
        #expect(error { _ = try NABReader().read(path: "/nonexistent/x.csv", name: "x.csv") }?.code == .missingFile)
        let labels = try NABLabels(path: repositoryRoot + "/Fixtures/nab/labels/combined_windows.json")
        let loader = FixtureLoader(labels: labels)
        let entries = try loader.entries([repositoryRoot + "/Fixtures/nab/data"])
        #expect(entries.map(\.name) == ["artificialWithAnomaly/art_daily_jumpsup.csv", "realKnownCause/machine_temperature_system_failure.csv"])
        let fixtures = try loader.load([repositoryRoot + "/Fixtures/nab/data"])
        #expect(fixtures.map(\.rowCount) == [4032, 22695])
        #expect(fixtures.map(\.windows.count) == [1, 4])
        #expect(fixtures.allSatisfy { $0.format == .nab && $0.isLabelled })
        // A file named directly is named by its path (made relative) and finds its labels by path suffix.
        let direct = repositoryRoot + "/Fixtures/nab/data/realKnownCause/machine_temperature_system_failure.csv"
        let one = try loader.load([direct])
        #expect(one[0].name == String(direct.drop { $0 == "/" }))
        #expect(one[0].windows.count == 4)
    }

    /// Reads the whole NAB corpus when it is present (it is not part of the repository).
    @Test(.enabled(if: sharedNAB != nil, "needs ../shared/datasets/nab next to the package (absent in a fresh clone)"))
    func fullNABCorpus() throws {
        let nab = try #require(sharedNAB)
        let labels = try NABLabels(path: nab + "/labels/combined_windows.json")
        let start = ContinuousClock.now
        let fixtures = try FixtureLoader(labels: labels).load([nab + "/data"])
        let elapsed = ContinuousClock.now - start
        #expect(fixtures.count == 58)
        // 365,558 data rows: `wc -l` says 365,551 because 7 files lack a final newline.
        #expect(fixtures.reduce(0) { $0 + $1.rowCount } == 365_558)
        #expect(fixtures.allSatisfy { $0.isLabelled })
        print("read NAB: \(fixtures.count) files in \(elapsed)")
    }
}
