// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

/// A tank in the simplest form: inflow and outflow wander, the level integrates their
/// difference over `area`; from `leakAt` an unmeasured leak of `leak` leaves the tank.
private func tankRounds(_ count: Int, leakAt: Int, leak: Double, area: Double = 4, seed: UInt64 = 3)
    -> [(level: Double, inflow: Double, outflow: Double)] {
    var rng = Xoshiro256StarStar(seed: seed)
    var level = 2.0, inflow = 10.0, outflow = 10.0
    return (0..<count).map { i in
        inflow += 0.2 * rng.nextGaussian() + 0.05 * (10 - inflow)
        outflow += 0.2 * rng.nextGaussian() + 0.05 * (10 - outflow) + 0.02 * (level - 2)
        level += (inflow - outflow - (i >= leakAt ? leak : 0)) / area  // one round = one second
        return (level + 0.0005 * rng.nextGaussian(), inflow + 0.01 * rng.nextGaussian(), outflow + 0.01 * rng.nextGaussian())
    }
}

@Suite("Relation monitor")
struct RelationMonitorTests {
    static let zscore = DetectorSettings(zscore: DetectorSection(ZScoreSettings(window: 1024, warmup: 256),
                                                                 alerts: AlertPolicy(threshold: 8, criticalThreshold: 12)),
                                         surprise: nil)

    static func monitor(_ source: String, fitted: [String] = [], given: [String: Double] = [:], window: Int = 1,
                        warmup: Int = 300) throws -> RelationMonitor {
        let e = try RelationExpression.parse(source, given: given, fitted: fitted)
        return RelationMonitor(index: 9, asset: 1, assetName: "tank", definition: RelationDefinition(name: "balance", expression: e, fitWarmup: warmup, window: window),
                               settings: zscore)
    }

    static func feed(_ m: inout RelationMonitor, _ rounds: ArraySlice<(level: Double, inflow: Double, outflow: Double)>, from first: Int)
        -> [AlertEvent] {
        var out: [AlertEvent] = []
        for (k, r) in rounds.enumerated() {
            let ts = Int64(first + k) * 1_000_000_000
            // Sensors report in another order than the expression names them: rounds still pair them.
            m.update(variable: 2, timestamp: ts, value: r.level, scores: { _, _ in }, emit: { out.append($0) })
            m.update(variable: 0, timestamp: ts, value: r.inflow, scores: { _, _ in }, emit: { out.append($0) })
            m.update(variable: 1, timestamp: ts, value: r.outflow, scores: { _, _ in }, emit: { out.append($0) })
        }
        return out
    }

    /// The leak is a fifth of the flows' noise per round and each sensor stays in range, but the
    /// residual moves by it: one alert, on the residual's sensor, naming the level's term.
    @Test func aBrokenBalanceRaisesOnTheResidualAndNamesTheTerm() throws {
        var m = try Self.monitor("inflow - outflow - area * der(level)", given: ["area": 4], window: 20)
        let rounds = tankRounds(8000, leakAt: 6000, leak: 0.5)
        let before = Self.feed(&m, rounds[0..<6000], from: 0)
        #expect(before.isEmpty, "\(before.count) alerts on a balanced tank")
        let after = Self.feed(&m, rounds[6000...], from: 6000)
        let raised = try #require(after.first { $0.event == .raised })
        #expect(raised.sensor == 9 && raised.detector == .zscore)
        #expect(raised.timestamp < 6030 * 1_000_000_000, "raised at \(raised.timestamp / 1_000_000_000)")
        let e = try #require(raised.relation)
        #expect(e.first.term == 2, "the level's term moved most: \(e)")  // -area*der(level): the level falls
        #expect(e.first.shift > 3)
        #expect(abs(e.expected) < 0.05 && e.residual - e.expected > 5 * e.scale, "\(e)")
        #expect(!after.contains { $0.event == .cleared }, "the leak lasts, so does the alert")
    }

    /// Recursive least squares finds the area from in-control rounds, and stops learning once
    /// the balance breaks.
    @Test func fittedParametersConvergeAndFreezeInAFault() throws {
        var m = try Self.monitor("inflow - outflow - area * der(level)", fitted: ["area"], window: 20, warmup: 500)
        let rounds = tankRounds(9000, leakAt: 7000, leak: 0.5)
        let before = Self.feed(&m, rounds[0..<7000], from: 0)
        #expect(abs(m.fittedValues[0] - 4) < 0.2, "fitted area \(m.fittedValues[0])")
        #expect(before.isEmpty)
        let fitted = m.fittedValues[0]
        let after = Self.feed(&m, rounds[7000...], from: 7000)
        #expect(after.contains { $0.event == .raised })
        #expect(abs(m.fittedValues[0] - fitted) < 0.05, "the fit moved into the fault: \(fitted) → \(m.fittedValues[0])")
    }

    /// A monitor restored from its snapshot continues exactly as the one that never stopped.
    @Test func snapshotRoundTripContinuesBitForBit() throws {
        let rounds = tankRounds(5000, leakAt: 4000, leak: 0.5)
        // The balance one round late (lag state), with the area fitted (RLS state).
        var a = try Self.monitor("lag(inflow, 1) - lag(outflow, 1) - area * lag(der(level), 1)", fitted: ["area"], window: 20)
        _ = Self.feed(&a, rounds[0..<2500], from: 0)
        var w = SnapshotWriter()
        a.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var b = try RelationMonitor(index: 9, asset: 1, assetName: "tank", definition: a.definition, settings: Self.zscore, restoringFrom: &r)
        #expect(r.remaining == 0)
        let ea = Self.feed(&a, rounds[2500...], from: 2500)
        let eb = Self.feed(&b, rounds[2500...], from: 2500)
        #expect(!ea.isEmpty && ea == eb)
        #expect(a.fittedValues == b.fittedValues)
        // A record cut short is refused.
        var cut = SnapshotReader(Array(w.bytes.dropLast(8)))
        #expect(throws: SnapshotError.self) {
            _ = try RelationMonitor(index: 9, asset: 1, assetName: "tank", definition: a.definition, settings: Self.zscore, restoringFrom: &cut)
        }
    }
}
