// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
@testable import VigilDetectors
import VigilTestKit

@Suite("PCA monitor")
struct PCAMonitorTests {
    @Test("diagnostics (prints detection figures)", .enabled(if: ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil))
    func diagnostics() {
        let faults: [LatentFactorPlant.Fault] = [
            .init(.step, rounds: 3000..<3500, sensor: 3, magnitude: 1.5),
            .init(.drift, rounds: 4500..<5100, sensor: 5, magnitude: 4),
            .init(.stuck, rounds: 6000..<6500, sensor: 7),
            .init(.variance, rounds: 7500..<8000, sensor: 9, magnitude: 5),
            .init(.correlationBreak, rounds: 9000..<9500, sensor: 11),
        ]
        let env = ProcessInfo.processInfo.environment
        let variant = env["VIGIL_PCA_PLANT"] ?? "mild"
        var section = PCATestSupport.section()
        if let l = env["VIGIL_PCA_LAGS"].flatMap(Int.init) { section.configuration.lags = l }
        if let b = env["VIGIL_PCA_SMOOTHING"].flatMap(Double.init) { section.configuration.smoothing = b }
        if let a = env["VIGIL_PCA_ALPHA"].flatMap(Double.init) { section.configuration.alpha = a }
        if let f = env["VIGIL_PCA_FORGETTING"].flatMap(Double.init) { section.configuration.forgetting = f }
        if env["VIGIL_PCA_THEORETICAL"] != nil { section.configuration.limits = .theoretical }
        for seed in 1...3 as ClosedRange<UInt64> {
            var plant = LatentFactorPlant(sensors: 24, rounds: env["VIGIL_PCA_ROUNDS"].flatMap(Int.init) ?? 11_000,
                                          faults: env["VIGIL_PCA_NOFAULTS"] != nil ? [] : faults, seed: seed)
            switch variant {
            case "harsh": plant.persistence = 0.95...0.995
            case "lownoise": plant.noise = 0.1
            case "highnoise": plant.noise = 0.6
            case "wide": plant.sensors = 40; plant.factors = 8; plant.persistence = 0.8...0.99
            case "iid": plant.persistence = 0...0.01; plant.maximumDelay = 0
            default: break
            }
            let (values, labels) = plant.generate()
            let started = Date()
            let run = PCATestSupport.run(values, section: section)
            let elapsed = Date().timeIntervalSince(started)
            let far = run.falseAlarmShare(labels: labels, from: 1002)
            let shares = faults.map { "\($0.kind.rawValue) \(String(format: "%.3f", run.share($0.rounds)))" }.joined(separator: ", ")
            func meanScore(_ r: Range<Int>) -> String {
                let v = r.compactMap { run.scores[$0] }
                return String(format: "%.2f", v.reduce(0, +) / Double(max(v.count, 1)))
            }
            if env["VIGIL_PCA_ALERTS"] != nil {
                for a in run.alerts where a.event == .raised {
                    if case .pca(let e) = a.evidence {
                        print(String(format: "   raised at %d: T² %.2f Q %.2f (ratios), first %d", a.timestamp, e.t2 / e.t2Limit, e.q / e.qLimit, e.first.position))
                    }
                }
            }
            if env["VIGIL_PCA_WINDOWS"] != nil {
                var line = "   raw T²/lim, Q/lim by 5000 rounds:"
                for w in stride(from: 1000, to: values.count, by: 5000) {
                    let r = w..<min(w + 5000, values.count)
                    let t = r.map { run.rawT2[$0] }.filter { !$0.isNaN }, q = r.map { run.rawQ[$0] }.filter { !$0.isNaN }
                    line += String(format: " [%.3f %.3f]", t.reduce(0, +) / Double(max(t.count, 1)), q.reduce(0, +) / Double(max(q.count, 1)))
                }
                print(line)
            }
            print("   mean score 1500..<3000 \(meanScore(1500..<3000)), step \(meanScore(3000..<3500)), 10000..<11000 \(meanScore(10000..<11000))")
            print("\(variant) seed \(seed): k = \(run.monitor?.components ?? 0), limits T² \(run.monitor?.t2Limit ?? 0) Q \(run.monitor?.qLimit ?? 0), normal flagged \(String(format: "%.3f", far)); \(shares); refreshes \(run.monitor?.refreshes ?? 0); \(String(format: "%.2f", elapsed)) s")
        }
    }
}
