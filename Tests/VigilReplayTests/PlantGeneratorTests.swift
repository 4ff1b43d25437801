// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilReplay
@testable import VigilTestKit

/// Properties of the synthetic plants of `Fixtures/plant/` (`PlantGenerator.reactor1`,
/// `.compressor2`): determinism, the correlation structure of normal operation, each fault in
/// the sensors and rows it should be in (checked against the same plant run without it: the
/// random streams are separate, so the difference is the fault's effect alone), and labels that
/// cover exactly the fault rows. The byte-for-byte fixture check is in `SignalGeneratorTests`.
@Suite("Plant generator")
struct PlantGeneratorTests {
    /// A plant under test and the facts the checks need about it.
    struct Plant: Sendable, CustomTestStringConvertible {
        var name: String
        var generator: PlantGenerator
        /// Sensors that some control loop acts on (a fault on them moves the whole process).
        var loopSensors: Set<String>
        /// Per fault, sensors whose readings must move by more than two noise deviations on average
        /// while it acts (for a stuck sensor, half of one); the first is the one its signature is
        /// checked on.
        var moves: [[String]]
        /// Pairs that are coupled physically: |correlation| > 0.8 over the fault-free start.
        var coupled: [(String, String)]
        var testDescription: String { name }
    }

    static let reactor = Plant(
        name: "reactor1", generator: .reactor1,
        loopSensors: ["feed_flow", "preheat_temp", "reactor_level", "reactor_temp"],
        moves: [
            ["feed_composition", "coolant_flow", "coolant_temp_out"],            // composition step
            ["reactor_temp_b", "coolant_flow", "coolant_temp_out", "product_concentration"],  // the loop follows its drifting TT
            ["steam_flow"],                                                       // stuck
            ["feed_composition", "coolant_temp_out"],                             // composition variance
            ["feed_pump_speed", "feed_pump_power", "feed_pump_vibration"],        // recirculation
            ["feed_pump_speed", "feed_flow", "feed_pump_power"],                  // noisy flow transmitter bursts
            ["feed_temp", "steam_flow", "steam_pressure"],                        // feed tank temperature step
            ["feed_pump_speed", "feed_pump_power", "product_flow", "outlet_valve"],  // the loop follows its drifting FT
            ["product_concentration"],                                            // stuck analyser
            ["coolant_temp_in", "coolant_temp_out", "product_temp"],              // cooling-water variance
            ["feed_pump_speed", "feed_pump_power", "feed_pump_vibration"],        // recirculation
            ["feed_pump_vibration", "feed_pump_speed"],                           // cavitation bursts
            ["product_concentration", "offgas_flow", "coolant_flow", "coolant_temp_out"],  // catalyst poisoning
            ["reactor_temp_b"],                                                   // drift
        ],
        coupled: [("feed_flow", "feed_pump_speed"), ("feed_flow", "product_flow"), ("feed_flow", "feed_pump_power"),
                  ("feed_flow", "steam_flow"), ("reactor_temp", "reactor_temp_b"), ("ambient_temp", "coolant_temp_in"),
                  ("ambient_temp", "feed_temp"), ("coolant_flow", "coolant_temp_out")])

    static let compressor = Plant(
        name: "compressor2", generator: .compressor2,
        loopSensors: ["discharge_pressure"],
        moves: [
            ["compressor_speed", "bearing_temp_de"],                              // heavier gas
            ["interstage_pressure", "compressor_speed", "motor_power"],           // the loop follows its drifting PT
            ["export_flow"],                                                      // stuck
            ["vibration_de", "vibration_nde"],                                    // rotor variance
            ["suction_flow", "compressor_speed", "motor_power", "motor_current"], // recycle passing
            ["suction_flow", "compressor_speed", "motor_power"],                  // anti-surge bursts
            ["cooling_water_temp_in", "intercooler_outlet_temp", "stage2_discharge_temp"],  // cooling water step
            ["bearing_temp_de"],                                                  // drift
            ["motor_current"],                                                    // stuck
            ["suction_pressure", "interstage_pressure", "compressor_speed"],      // supply pressure variance
            ["suction_flow"],                                                     // plugged impulse line
            ["vibration_de"],                                                     // loose connector bursts
            ["suction_pressure", "interstage_pressure", "compressor_speed"],      // supply pressure step
            ["suction_temp"],                                                     // drift
        ],
        coupled: [("suction_flow", "export_flow"), ("export_flow", "compressor_speed"), ("motor_power", "motor_current"),
                  ("export_flow", "motor_power"), ("ambient_temp", "export_temp"), ("bearing_temp_de", "bearing_temp_nde"),
                  ("cooling_water_temp_in", "intercooler_outlet_temp"), ("motor_current", "winding_temp")])

    static let plants = [reactor, compressor]

    /// Every fault of every plant, for the per-fault checks.
    static let faults: [(plant: Int, fault: Int)] = plants.indices.flatMap { p in
        plants[p].generator.faults.indices.map { (p, $0) }
    }

    /// Full runs, made once: with the faults, and the same plant without any.
    static let outputs: [SignalGenerator.Output] = plants.map { $0.generator.generate() }
    static let clean: [SignalGenerator.Output] = plants.map { p in
        var g = p.generator
        g.faults = []
        return g.generate()
    }

    /// The nominal row of each recorded row (the timestamp less its jitter, rounded).
    static func nominalRows(_ out: SignalGenerator.Output, _ g: PlantGenerator) -> [Int] {
        out.timestamps.map { Int(($0 - g.start + g.interval / 2) / g.interval) }
    }

    static func column(_ name: String, _ plant: Plant) -> Int {
        plant.generator.columns.firstIndex(of: name)!
    }

    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let pairs = zip(x, y).filter { !$0.isNaN && !$1.isNaN }
        let n = Double(pairs.count)
        let mx = pairs.reduce(0) { $0 + $1.0 } / n, my = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in pairs { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    // MARK: - Building blocks

    @Test func platformIndependentExpAndLogAgreeWithTheCLibrary() {
        // The generator's own eˣ and ln x (basic arithmetic only) against Foundation's, over the
        // ranges the units use and beyond.
        var x = -30.0
        while x <= 30 {
            let e = SignalGenerator.exponential(x)
            #expect(abs(e - Foundation.exp(x)) <= 4e-16 * Foundation.exp(x), "exp(\(x))")
            x += 0.0137
        }
        for v in [1e-9, 0.001, 0.5, 0.70710678, 0.99999, 1, 1.0001, 1.4142, 1.5597, 2, 10, 62.0 / 39.75, 1e6, 1e12] {
            #expect(abs(SignalGenerator.logarithm(v) - Foundation.log(v)) <= 4e-16 * max(1, abs(Foundation.log(v))), "log(\(v))")
        }
        #expect(SignalGenerator.exponential(0) == 1 && SignalGenerator.logarithm(1) == 0)
    }

    @Test func piControllerSettlesAFirstOrderProcessOnItsSetpoint() {
        // A process y' = (2u − y) / 5 steps, held at 3 from 0: the loop settles without offset
        // (integral action) and keeps its output within its limits throughout.
        var loop = PIController(gain: 0.5, integralGain: 0.2, output: 0, limits: 0...10)
        var y = 0.0, outputs: [Double] = []
        for _ in 0..<200 {
            let u = loop.update(setpoint: 3, measurement: y)
            outputs.append(u)
            y += (2 * u - y) / 5
        }
        #expect(abs(y - 3) < 1e-6 && abs(outputs.last! - 1.5) < 1e-6)
        #expect(outputs.allSatisfy { (0...10).contains($0) })
        // Saturated: a setpoint it cannot reach pins the output at the limit, with no wind-up
        // (it leaves the limit on the first step after the setpoint comes back).
        for _ in 0..<50 { _ = loop.update(setpoint: 100, measurement: y); y += (2 * loop.output - y) / 5 }
        #expect(loop.output == 10)
        #expect(loop.update(setpoint: 3, measurement: y) < 10)
        // No reading yet: the output stays.
        #expect(loop.update(setpoint: 3, measurement: .nan) == loop.output)
    }

    @Test(arguments: [0, 1])
    func everyMechanismOfTheUnitActs(_ p: Int) {
        // Each of the unit's own fault mechanisms, at 10 % for five hours of a short run, moves
        // some reading by more than five noise deviations on average (also those no fixture uses).
        var g = Self.plants[p].generator
        g.rows = 900
        g.schedule = []
        g.faults = []
        let healthy = g.generate()
        for m in g.process.mechanisms.indices {
            g.faults = [PlantGenerator.Fault(.step, .mechanism(m, magnitude: 0.1), rows: 300..<600, summary: "test")]
            let out = g.generate()
            let moved = g.columns.indices.filter { k in
                let d = (300..<600).compactMap { r -> Double? in
                    out.values[k][r].isNaN || healthy.values[k][r].isNaN ? nil : abs(out.values[k][r] - healthy.values[k][r])
                }
                return d.reduce(0, +) / Double(d.count) > 5 * g.process.sensors[k].noise
            }
            #expect(!moved.isEmpty, "\(Self.plants[p].name): \(g.process.mechanisms[m].name) moves nothing")
            #expect((0..<300).allSatisfy { r in g.columns.indices.allSatisfy { out.values[$0][r].bitPattern == healthy.values[$0][r].bitPattern } })
        }
    }

    // MARK: - Whole plants

    @Test(arguments: [0, 1])
    func sameSeedSamePlantOtherSeedOtherPlant(_ p: Int) {
        var g = Self.plants[p].generator
        g.rows = 600
        g.faults = [PlantGenerator.Fault(.stuck, .stuckSensor(sensor: 3), rows: 100..<200, summary: "test")]
        let a = g.wideCSV()
        #expect(a == g.wideCSV())
        g.seed += 1
        let b = g.wideCSV()
        #expect(a != b)
        // Only the values move with the seed, not the layout.
        #expect(a.split(separator: "\n").first == b.split(separator: "\n").first)
        #expect(a.split(separator: "\n").count == b.split(separator: "\n").count)
    }

    @Test(arguments: [0, 1])
    func normalOperationIsCorrelatedAndMoves(_ p: Int) throws {
        let plant = Self.plants[p]
        let out = Self.clean[p]
        let rows = Self.nominalRows(out, plant.generator)
        let baseline = rows.indices.filter { rows[$0] < 2 * 1440 }
        #expect(plant.generator.columns.count >= 20)
        for (a, b) in plant.coupled {
            let x = baseline.map { out.values[Self.column(a, plant)][$0] }, y = baseline.map { out.values[Self.column(b, plant)][$0] }
            let r = Self.correlation(x, y)
            #expect(abs(r) > 0.8, "\(plant.name): corr(\(a), \(b)) = \(r)")
        }
        // The first two days are fault-free and visit every operating point: each later setpoint
        // value lies within the values the setpoint held in them.
        #expect(plant.generator.faults.allSatisfy { $0.rows.lowerBound >= 2 * 1440 })
        for (s, setpoint) in plant.generator.process.setpoints.enumerated() {
            let early = [setpoint.initial] + plant.generator.schedule.filter { $0.setpoint == s && $0.row < 2 * 1440 }.map(\.value)
            for change in plant.generator.schedule where change.setpoint == s && change.row >= 2 * 1440 {
                #expect(early.min()! <= change.value && change.value <= early.max()!,
                        "\(plant.name): \(setpoint.name) goes to \(change.value), outside what the first two days visit")
            }
        }
        #expect(plant.generator.schedule.filter { $0.row >= 2 * 1440 }.count >= 5)
        // Nothing is a constant, and the disturbances are autocorrelated, not white: a sensor's
        // minute-to-minute change is much smaller than its spread.
        for (k, name) in plant.generator.columns.enumerated() {
            let v = baseline.map { out.values[k][$0] }.filter { !$0.isNaN }
            let mean = v.reduce(0, +) / Double(v.count)
            let sd = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
            #expect(sd > plant.generator.process.sensors[k].noise, "\(plant.name)/\(name) moves no more than its noise")
        }
        let ambient = Self.column("ambient_temp", plant)
        let series = baseline.map { out.values[ambient][$0] }
        let lag1 = Self.correlation(Array(series.dropLast()), Array(series.dropFirst()))
        #expect(lag1 > 0.95)
    }

    @Test(arguments: [0, 1])
    func recordingHasJitterAGapAndDropouts(_ p: Int) throws {
        let plant = Self.plants[p]
        let g = plant.generator
        let f = try WideCSVReader().read(path: repositoryRoot + "/Fixtures/plant/\(plant.name).csv", name: "plant/\(plant.name).csv")
        #expect(f.sensors == g.columns.map { plant.name + "/" + $0 })
        let gapRows = g.gaps.reduce(0) { $0 + $1.count }
        #expect(f.rowCount == g.rows - gapRows && gapRows >= 60)
        #expect(f.emptyCells > 0 && Double(f.emptyCells) < 0.005 * Double(f.rowCount * g.columns.count))
        #expect(f.outOfOrderRows == 0)
        let steps = zip(f.timestamps, f.timestamps.dropFirst()).map { Double($1 - $0) / 1e9 }
        let jitter = Double(g.jitter) / 1e9
        #expect(steps.min()! >= 60 - 2 * jitter && steps.min()! < 59)
        #expect(steps.max()! >= Double(gapRows + 1) * 60 - 2 * jitter)
        // Reasonably small for a repository fixture.
        let bytes = try FileManager.default.attributesOfItem(atPath: repositoryRoot + "/Fixtures/plant/\(plant.name).csv")[.size] as! Int
        #expect(bytes < 4_000_000)
    }

    @Test(arguments: [0, 1])
    func labelsCoverExactlyTheFaultRows(_ p: Int) throws {
        let plant = Self.plants[p]
        let g = plant.generator
        let out = Self.outputs[p]
        let rows = Self.nominalRows(out, g)
        var expected = [Bool](repeating: false, count: g.rows)
        var starts = Set<Int>()
        var stretches = 0
        for i in g.faults.indices {
            let active = g.activeRows(ofFault: i)
            #expect(active.allSatisfy { g.faults[i].rows.contains($0.lowerBound) && $0.upperBound <= g.faults[i].rows.upperBound })
            for r in active { for row in r { expected[row] = true }; starts.insert(r.lowerBound); stretches += 1 }
        }
        #expect(out.anomaly == rows.map { expected[$0] })
        #expect(out.changepoint == rows.map { starts.contains($0) })
        #expect(out.anomaly.filter { $0 }.count == expected.filter { $0 }.count)   // no fault row in the gap
        #expect(g.faultRows() == expected)
        // Read back: one labelled window per stretch (none touch), and several faults of each kind.
        let f = try WideCSVReader().read(path: repositoryRoot + "/Fixtures/plant/\(plant.name).csv", name: "plant/\(plant.name).csv")
        #expect(f.pointLabels == out.anomaly && f.changepoints == out.changepoint)
        #expect(f.windows.count == stretches)
        for kind in PlantGenerator.Fault.Kind.allCases {
            #expect(g.faults.filter { $0.kind == kind }.count >= 2, "\(plant.name): fewer than two \(kind.rawValue) faults")
        }
        // Sustained: every continuous fault lasts 1 to 8 hours; intermittent ones come in several bursts.
        for (i, fault) in g.faults.enumerated() {
            #expect((60...480).contains(fault.rows.count))
            if fault.kind == .intermittent { #expect(g.activeRows(ofFault: i).count >= 4) }
        }
    }

    // MARK: - Each fault

    /// Timestamps and readings of a run (or of the first rows of one).
    struct Run {
        var timestamps: [Int64]
        var values: [[Double]]
    }

    /// The plant run with only fault `i`, up to two hours after it, and the fault-free run's rows
    /// over the same span.
    static func isolated(_ p: Int, _ i: Int) -> (faulty: Run, clean: Run, rows: [Int]) {
        var g = plants[p].generator
        let fault = g.faults[i]
        g.faults = [fault]
        g.rows = min(g.rows, fault.rows.upperBound + 120)
        let out = g.generate()
        let n = out.timestamps.count
        let full = clean[p]
        return (Run(timestamps: out.timestamps, values: out.values),
                Run(timestamps: Array(full.timestamps.prefix(n)), values: full.values.map { Array($0.prefix(n)) }),
                nominalRows(out, g))
    }

    /// Each fault, run alone against the healthy plant: nothing before it, the right sensors move
    /// while it acts, a fault of a sensor no loop uses touches only that sensor, and the effect
    /// has the signature of its kind.
    @Test(arguments: faults)
    func faultShowsWhereAndAsItShould(_ p: Int, _ i: Int) throws {
        let plant = Self.plants[p]
        let g = plant.generator
        let fault = g.faults[i]
        let (faulty, clean, rows) = Self.isolated(p, i)
        #expect(faulty.timestamps == clean.timestamps)
        let stretches = g.activeRows(ofFault: i)
        let active = rows.indices.filter { r in stretches.contains { $0.contains(rows[r]) } }
        let before = rows.indices.filter { rows[$0] < fault.rows.lowerBound }
        let noise = g.process.sensors.map(\.noise)
        for k in g.columns.indices {
            // Nothing happens before the fault.
            #expect(before.allSatisfy { faulty.values[k][$0].bitPattern == clean.values[k][$0].bitPattern },
                    "\(plant.name) fault \(i): \(g.columns[k]) differs before the fault")
        }
        func meanDifference(_ k: Int) -> Double {
            let d = active.compactMap { r -> Double? in
                let a = faulty.values[k][r], b = clean.values[k][r]
                return a.isNaN || b.isNaN ? nil : abs(a - b)
            }
            return d.reduce(0, +) / Double(d.count)
        }
        for name in plant.moves[i] {
            let k = Self.column(name, plant)
            let threshold = fault.sensor == k && fault.kind == .stuck ? 0.5 : 2
            #expect(meanDifference(k) > threshold * noise[k], "\(plant.name) fault \(i) (\(fault.summary)): \(name) moves \(meanDifference(k))")
        }
        // A fault of a sensor no loop acts on changes that sensor's readings and nothing else.
        if let s = fault.sensor, !plant.loopSensors.contains(g.columns[s]) {
            for k in g.columns.indices where k != s {
                #expect(zip(faulty.values[k], clean.values[k]).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(plant.name) fault \(i): \(g.columns[k]) moved although only \(g.columns[s]) is faulty")
            }
            // ... and only while the fault acts.
            let idle = rows.indices.filter { r in !stretches.contains { $0.contains(rows[r]) } }
            #expect(idle.allSatisfy { faulty.values[s][$0].bitPattern == clean.values[s][$0].bitPattern })
        }

        // The signature of its kind.
        func cells(_ k: Int, _ r: Range<Int>, _ out: Run) -> [Double] {
            rows.indices.filter { r.contains(rows[$0]) }.map { out.values[k][$0] }.filter { !$0.isNaN }
        }
        func spread(_ v: [Double]) -> Double {
            let m = v.reduce(0, +) / Double(v.count)
            return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)).squareRoot()
        }
        switch fault.effect {
        case .stuckSensor(let k):
            // A flat reading, where the healthy one moves.
            #expect(Set(cells(k, fault.rows, faulty)).count == 1)
            #expect(Set(cells(k, fault.rows, clean)).count > 10)
        case .sensorDrift(let k, let perHour) where !plant.loopSensors.contains(g.columns[k]):
            // The reading ramps away from the truth at the stated rate, exactly.
            for r in rows.indices where fault.rows.contains(rows[r]) && !faulty.values[k][r].isNaN {
                let expected = perHour * Double(rows[r] - fault.rows.lowerBound) / 60
                #expect(abs(faulty.values[k][r] - clean.values[k][r] - expected) < 1e-9)
            }
        case .sensorDrift(let k, let perHour):
            // The loop follows its drifting transmitter: the reading stays near the setpoint while
            // the process moves the other way (seen on the other sensors in `moves`).
            let end = (fault.rows.upperBound - 30)..<fault.rows.upperBound
            let offset = cells(k, end, faulty).reduce(0, +) / 30 - cells(k, end, clean).reduce(0, +) / 30
            #expect(abs(offset) < 0.5 * abs(perHour) * Double(fault.rows.count) / 60)
        case .disturbanceVariance:
            // The sensor that measures the disturbance varies more than healthy.
            let k = Self.column(plant.moves[i][0], plant)
            #expect(spread(cells(k, fault.rows, faulty)) > 1.5 * spread(cells(k, fault.rows, clean)))
        case .sensorNoise(let k, _):
            // Bursts of noise: only during the bursts.
            for s in stretches { #expect(spread(cells(k, s, faulty)) > 3 * spread(cells(k, s, clean))) }
        default:
            break
        }
        if fault.kind == .intermittent {
            // The effect comes and goes: the bursts differ from the healthy run more than the
            // pauses between them (where the loops have recovered).
            let k = Self.column(plant.moves[i][0], plant)
            var pauses: [Range<Int>] = []
            for (a, b) in zip(stretches, stretches.dropFirst()) where b.lowerBound - a.upperBound >= 15 {
                pauses.append((a.upperBound + 10)..<b.lowerBound)
            }
            func difference(_ ranges: [Range<Int>]) -> Double {
                let idx = rows.indices.filter { r in ranges.contains { $0.contains(rows[r]) } }
                let d = idx.compactMap { r -> Double? in
                    faulty.values[k][r].isNaN || clean.values[k][r].isNaN ? nil : abs(faulty.values[k][r] - clean.values[k][r])
                }
                return d.reduce(0, +) / Double(d.count)
            }
            #expect(!pauses.isEmpty)
            #expect(difference(stretches) > 3 * difference(pauses), "\(plant.name) fault \(i)")
        }
    }

    @Test(arguments: faults.filter { plants[$0.plant].generator.faults[$0.fault].kind == .correlationBreak })
    func correlationBreakStaysInTheNormalRange(_ p: Int, _ i: Int) throws {
        // On the fixture itself: during the fault every sensor stays within the range it has over
        // the recording's normal rows, so no per-sensor threshold set on normal data can see it.
        let plant = Self.plants[p]
        let g = plant.generator
        let out = Self.outputs[p]
        let rows = Self.nominalRows(out, g)
        let fault = rows.indices.filter { g.faults[i].rows.contains(rows[$0]) }
        let normal = rows.indices.filter { !out.anomaly[$0] }
        for (k, name) in g.columns.enumerated() {
            let n = normal.map { out.values[k][$0] }.filter { !$0.isNaN }
            let f = fault.map { out.values[k][$0] }.filter { !$0.isNaN }
            #expect(f.min()! >= n.min()! && f.max()! <= n.max()!, "\(plant.name) fault \(i): \(name) leaves its normal range")
        }
        // Yet the relation is broken: the two flow meters (compressor) or the pump's speed per
        // unit of flow (reactor) are far from where normal operation keeps them.
        func relation(_ r: Int) -> Double? {
            switch plant.name {
            case "reactor1":
                let speed = out.values[Self.column("feed_pump_speed", plant)][r], flow = out.values[Self.column("feed_flow", plant)][r]
                return speed.isNaN || flow.isNaN ? nil : speed / flow
            default:
                let a = out.values[Self.column("suction_flow", plant)][r], b = out.values[Self.column("export_flow", plant)][r]
                return a.isNaN || b.isNaN ? nil : a - b
            }
        }
        let normalRelation = normal.compactMap(relation), faultRelation = fault.compactMap(relation)
        let m = normalRelation.reduce(0, +) / Double(normalRelation.count)
        let sd = (normalRelation.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(normalRelation.count)).squareRoot()
        let shifted = faultRelation.filter { abs($0 - m) > 4 * sd }.count
        #expect(Double(shifted) > 0.4 * Double(faultRelation.count), "\(plant.name) fault \(i): only \(shifted) of \(faultRelation.count) rows off")
    }
}
