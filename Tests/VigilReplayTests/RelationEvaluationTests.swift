// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilReplay
import VigilTestKit

/// The bars of the hybrid models, through `vigil eval`'s code on the committed fixtures and the
/// configurations in `Configs/eval/`.
@Suite("Hybrid models through vigil eval")
struct RelationEvaluationTests {
    static func fixture(_ name: String) throws -> Fixture {
        try WideCSVReader().read(path: repositoryRoot + "/Fixtures/hybrid/" + name, name: name)
    }

    static func configuration(_ path: String) throws -> VigilConfiguration {
        try VigilConfiguration.load(path: repositoryRoot + path)
    }

    /// The declared balance raises within a few minutes of a 2 % leak, never over the normal
    /// week, stays raised while the leak lasts, and names the inflow (which the level controller
    /// raised to make up for the leak) as the term that moved.
    /// The same with the area fitted online (recursive least squares on the window means).
    @Test(arguments: [false, true])
    func theTankBalanceCatchesATwoPercentLeak(fitted: Bool) throws {
        let f = try Self.fixture("tank1.csv")
        var text = try String(contentsOfFile: repositoryRoot + "/Configs/eval/tank.yaml", encoding: .utf8)
        if fitted {
            #expect(text.contains("parameters: {area: 5}"))
            text = text.replacingOccurrences(of: "parameters: {area: 5}", with: "parameters: {area: fit}")
        }
        let run = Evaluator(configuration: try VigilConfiguration.parse(yaml: text, file: "tank.yaml")).run(f)
        let balance = run.alerts.filter { $0.event.sensor == 4 }  // after the three columns and the asset
        let leak = SignalGenerator.tank1LeakRow
        #expect(!balance.contains { $0.row < leak }, "false alarms: \(balance.filter { $0.row < leak }.map(\.row))")
        let raised = try #require(balance.first { $0.event.event == .raised })
        let delay = Double(f.timestamps[raised.row] - f.timestamps[leak]) / 1e9
        #expect(delay > 0 && delay <= 300, "raised \(delay) s after the leak")
        #expect(!balance.contains { $0.event.event == .cleared })
        let e = try #require(raised.event.relation)
        // The evidence: the residual far outside its in-control spread, and the terms that moved
        // most, largest first (the flows' daily swing moves them too: the residual tells the leak).
        #expect(e.residual - e.expected > 5 * e.scale, "\(e)")
        #expect(e.moved.count == 3 && Set(e.moved.map(\.term)) == [0, 1, 2])
        #expect(abs(e.first.shift) >= abs(e.second.shift) && abs(e.second.shift) >= abs(e.third.shift))
        #expect(raised.event.detector == .zscore)
    }

    /// The weekly load: against its hour-of-week baseline the missing peak is found; the shipped
    /// detectors on the raw load miss it.
    @Test func theMissingPeakIsFoundAgainstTheSeasonalBaseline() throws {
        let f = try Self.fixture("load1.csv")
        func found(_ path: String) throws -> Bool {
            let run = Evaluator(configuration: try Self.configuration(path)).run(f)
            return run.alarms.contains { f.pointLabels[$0.row] }
        }
        #expect(try found("/Configs/eval/load.yaml"))
        #expect(try !found("/Configs/vigil.yaml"))
    }

    /// A relation that names a sensor the recording does not have is reported before anything runs.
    @Test func unboundRelationsAreReported() throws {
        let c = try VigilConfiguration.parse(yaml: """
            relations:
              - {name: balance, assets: ["tank*"], expression: "inflow - outflw - 18000 * der(level)"}
            """, file: "c.yaml")
        let unbound = Evaluator(configuration: c).unboundRelations(in: try Self.fixture("tank1.csv"))
        #expect(unbound.map(\.description) == [
            "relation balance of asset tank1 names sensor outflw, which the asset does not have (its sensors: level, inflow, outflow)",
        ])
    }
}
