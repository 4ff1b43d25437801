// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilReplay
import VigilTestKit

@Suite("Relations through vigil eval")
struct RelationEvaluationTests {
    static func tank() throws -> Fixture {
        try WideCSVReader().read(path: repositoryRoot + "/Fixtures/hybrid/tank1.csv", name: "tank1.csv")
    }

    @Test func explore() throws {
        let c = try VigilConfiguration.load(path: repositoryRoot + "/Configs/eval/tank.yaml")
        let f = try Self.tank()
        let run = Evaluator(configuration: c).run(f)
        var counts: [String: Int] = [:]
        for a in run.alerts where a.event.event == .raised { counts["\(a.event.sensor) \(a.event.detector) \(a.row >= SignalGenerator.tank1LeakRow)", default: 0] += 1 }
        print("ALARMS", counts.sorted { $0.key < $1.key })
        for a in run.alerts where a.event.relation != nil || a.row >= SignalGenerator.tank1LeakRow - 10 { print("A", a.row, a.sensor, a.event.sensor, a.event.detector, a.event.event, a.event.score, a.event.relation.map { "\($0)" } ?? "") ; break }
        var ch: [String: Int] = [:]
        for a in run.alerts where a.event.event == .raised && a.event.sensor < 3 { ch["\(a.event.sensor) " + String(String(describing: a.event.evidence).prefix(40)), default: 0] += 1 }
        print("CH", ch.sorted { $0.key < $1.key })
        let rel = run.alerts.filter { $0.event.sensor > 3 }
        print("REL", rel.count, rel.map { "\($0.row) \($0.event.event) \($0.event.score) \(String(describing: $0.event.evidence).prefix(60))" })
    }
}

@Suite("Seasonal explore")
struct SeasonalExplore {
    @Test func explore() throws {
        let f = try WideCSVReader().read(path: repositoryRoot + "/Fixtures/hybrid/load1.csv", name: "load1.csv")
        for path in ["/Configs/vigil.yaml", "/Configs/eval/load.yaml"] {
            let c = try VigilConfiguration.load(path: repositoryRoot + path)
            let run = Evaluator(configuration: c).run(f)
            print("SEAS", path, run.alarms.map { "\($0.row / 96)d\(($0.row % 96) / 4)h" }, run.alerts.filter { $0.event.event == .raised }.map { String(String(describing: $0.event.evidence).prefix(50)) })
        }
    }
}
