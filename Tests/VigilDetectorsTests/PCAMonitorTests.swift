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
        for seed in 1...3 as ClosedRange<UInt64> {
            let plant = LatentFactorPlant(sensors: 24, rounds: 11_000, faults: faults, seed: seed)
            let (values, labels) = plant.generate()
            let started = Date()
            let run = PCATestSupport.run(values, section: PCATestSupport.section())
            let elapsed = Date().timeIntervalSince(started)
            let far = run.falseAlarmShare(labels: labels, from: 1002)
            let shares = faults.map { "\($0.kind.rawValue) \(String(format: "%.3f", run.share($0.rounds)))" }.joined(separator: ", ")
            print("seed \(seed): k = \(run.monitor?.components ?? 0), limits T² \(run.monitor?.t2Limit ?? 0) Q \(run.monitor?.qLimit ?? 0), normal flagged \(String(format: "%.3f", far)); \(shares); refreshes \(run.monitor?.refreshes ?? 0); \(String(format: "%.2f", elapsed)) s")
        }
    }
}
