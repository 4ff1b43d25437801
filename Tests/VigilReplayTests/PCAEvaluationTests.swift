// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilTestKit
@testable import VigilReplay

/// A wide recording of a 24-sensor plant with faults, one row a minute, with its `anomaly` column.
func plantCSV(seed: UInt64 = 1) -> String {
    let faults: [LatentFactorPlant.Fault] = [
        .init(.step, rounds: 2500..<3100, sensor: 4, magnitude: 1.5),
        .init(.correlationBreak, rounds: 4000..<4600, sensor: 9),
        .init(.variance, rounds: 5500..<6100, sensor: 15, magnitude: 5),
    ]
    let (values, labels) = LatentFactorPlant(sensors: 24, rounds: 7000, faults: faults, seed: seed).generate()
    var text = "timestamp," + (0..<24).map { "s\($0)" }.joined(separator: ",") + ",anomaly\n"
    let start = Timestamp.parse("2024-11-25T00:00:00Z")!
    for (t, row) in values.enumerated() {
        text += Timestamp.rfc3339(start + Int64(t) * 60_000_000_000) + ","
        text += row.map { String($0) }.joined(separator: ",") + "," + (labels[t] ? "1" : "0") + "\n"
    }
    return text
}

@Suite("PCA through vigil eval")
struct PCAEvaluationTests {
    /// What `vigil eval --config` does: the config's settings, assets and PCA sections.
    static func evaluator(_ yaml: String) throws -> Evaluator {
        let c = try VigilConfiguration.parse(yaml: yaml, file: "eval.yaml")
        return Evaluator(settings: { c.detectorSettings(forSensor: $0) }, assetOf: { c.asset(ofSensor: $0) },
                         pcaSettings: { c.pcaSettings(forAsset: $0) })
    }

    @Test("a wide CSV with an anomaly column and a config naming its asset: the PCA alerts appear and score")
    func evalWithPCA() throws {
        let fixture = try WideCSVReader().read(bytes: Array(plantCSV().utf8), name: "plant/rig.csv")
        #expect(fixture.asset == "rig" && fixture.isLabelled)
        // Per-sensor detectors off, so the figures are the PCA monitor's alone.
        let pcaOnly = try Self.evaluator("""
            detectors: {surprise: {enabled: false}, zscore: {enabled: false}, combine: {enabled: false}}
            assets: [{name: rig, sensors: ["rig/*"]}]
            """)
        let run = pcaOnly.run(fixture)
        let raised = run.alerts.filter { $0.event.event == .raised && $0.event.detector == .pca }
        #expect(!raised.isEmpty)
        #expect(run.alerts.allSatisfy { $0.event.detector == .pca && $0.sensor == 23 }, "asset alerts on the asset's last column")
        #expect(run.scoreColumns.contains { $0.detector == .pca && $0.sensor == 23 && $0.threshold == 1 })
        let m = run.metrics()
        let recall = try #require(m.point.recall)
        let normalFlagged = Double(m.point.falsePositives) / Double(m.point.falsePositives + m.point.trueNegatives)
        // The shipped PCA settings: 0.87 of fault time flagged at 0.013 of normal time here.
        #expect(recall >= 0.7, "fault time flagged: \(recall)")
        #expect(normalFlagged <= 0.02, "normal time flagged: \(normalFlagged)")
        // The strongest contributor of the alert in each fault window is the faulty sensor.
        for (window, sensor) in [(2500..<3100, 4), (4000..<4600, 9), (5500..<6100, 15)] {
            let first = raised.first { window.contains($0.row) }
            guard case .pca(let e)? = first?.event.evidence else {
                Issue.record("no PCA alert in \(window)")
                continue
            }
            #expect(e.first.position == Int32(sensor), "window \(window): \(e)")
        }
        if ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil {
            print("eval, PCA only: fault time flagged \(recall), normal time flagged \(normalFlagged), \(raised.count) alerts")
        }
    }

    @Test("with the shipped settings the asset's PCA alerts come with the per-sensor ones; without an asset, none")
    func shippedSettings() throws {
        let fixture = try WideCSVReader().read(bytes: Array(plantCSV(seed: 2).utf8), name: "plant/rig.csv")
        let run = try Self.evaluator("assets: [{name: asset, sensors: [\"*/*\"]}]").run(fixture)
        #expect(run.alerts.contains { $0.event.detector == .pca })
        let m = run.metrics()
        if ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil {
            let fp = Double(m.point.falsePositives) / Double(m.point.falsePositives + m.point.trueNegatives)
            print("eval, shipped settings + PCA: fault time flagged \(m.point.recall ?? 0), normal time flagged \(fp)")
        }
        let noAsset = try Self.evaluator("grouping: {rule: none}").run(fixture)
        #expect(!noAsset.alerts.contains { $0.event.detector == .pca })
        if ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil {
            let n = noAsset.metrics()
            let fp = Double(n.point.falsePositives) / Double(n.point.falsePositives + n.point.trueNegatives)
            print("eval, shipped settings, no asset: fault time flagged \(n.point.recall ?? 0), normal time flagged \(fp)")
        }
    }
}

extension PCAEvaluationTests {
    /// Assets without configuration: with the shipped grouping (parent path) a wide recording is
    /// one asset (`<file>/<column>` → `<file>`), through `Evaluator(configuration:)` as `vigil eval`
    /// builds it, and a one-sensor file is no asset at all (fewer than `min_members`).
    @Test("the shipped grouping makes a wide recording one asset and leaves a lone series alone")
    func shippedGrouping() throws {
        let fixture = try WideCSVReader().read(bytes: Array(plantCSV(seed: 3).utf8), name: "plant/rig.csv")
        let shipped = Evaluator(configuration: try VigilConfiguration.load(path: repositoryRoot + "/Configs/vigil.yaml"))
        let run = shipped.run(fixture)
        #expect(run.alerts.contains { $0.event.detector == .pca && $0.sensor == 23 }, "PCA alerts of the asset rig")
        var lone = try WideCSVReader().read(bytes: Array(plantCSV(seed: 3).utf8), name: "plant/rig.csv")
        lone.columns = [lone.columns[0]]
        lone.values = [lone.values[0]]
        let single = shipped.run(lone)
        #expect(!single.alerts.contains { $0.event.detector == .pca }, "one member: no asset detector")
        #expect(!single.scoreColumns.contains { $0.detector == .pca })
        let two = Evaluator(configuration: try VigilConfiguration.parse(yaml: "grouping: {min_members: 25}", file: "c.yaml")).run(fixture)
        #expect(!two.alerts.contains { $0.event.detector == .pca }, "24 members < min_members 25")
    }

    @Test("diagnostics (prints eval figures)", .enabled(if: ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil))
    func diagnostics() throws {
        for seed in [UInt64(1), 2, 3] {
            let fixture = try WideCSVReader().read(bytes: Array(plantCSV(seed: seed).utf8), name: "plant/rig.csv")
            for (label, yaml) in [("per-sensor only (shipped)", ""),
                                  ("PCA only", "detectors: {surprise: {enabled: false}, zscore: {enabled: false}, combine: {enabled: false}}\nassets: [{name: rig, sensors: [\"rig/*\"]}]"),
                                  ("shipped + PCA", "assets: [{name: rig, sensors: [\"rig/*\"]}]")] {
                let m = try Self.evaluator(yaml).run(fixture).metrics()
                let fp = Double(m.point.falsePositives) / Double(m.point.falsePositives + m.point.trueNegatives)
                print(String(format: "seed %d, %@: fault time flagged %.3f, normal time flagged %.3f", seed, label, m.point.recall ?? 0, fp))
            }
        }
    }
}
