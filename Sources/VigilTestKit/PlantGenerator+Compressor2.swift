// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

extension PlantGenerator {
    /// The plant of `Fixtures/plant/compressor2.csv`: a `CompressorStation` sampled once a
    /// minute (±5 s jitter) for 13 days from 2024-11-18 00:00 UTC. The first two days are
    /// fault-free and visit every operating point (throughput 85, 100 and 112 kNm³/h; discharge
    /// pressure 62 and 64 bar); dispatch moves them twelve more times later (10 throughput, 2
    /// pressure changes), all normal. A 90-minute recording gap on day 10 (02:00–03:30), 0.15 %
    /// empty cells. Fourteen labelled faults, rows = minutes from the start:
    ///
    /// | rows | kind | fault |
    /// | --- | --- | --- |
    /// | 3360..<3660 | step | gas molecular weight +6 % (heavier gas) |
    /// | 4080..<4380 | drift | `discharge_pressure` (controlled) +0.5 bar/h |
    /// | 4620..<4920 | stuck | `export_flow`, through a throughput change |
    /// | 5280..<5580 | variance | rotor vibration × 6 (looseness) |
    /// | 6960..<7260 | correlation break | recycle valve passing 12 % of design flow |
    /// | 7740..<7980 | intermittent | anti-surge valve opening spuriously (15 %) in bursts |
    /// | 8760..<9120 | step | cooling-water supply +2 K |
    /// | 9720..<10080 | drift | `bearing_temp_de` +0.8 K/h |
    /// | 12000..<12240 | stuck | `motor_current`, through a throughput change |
    /// | 12360..<12660 | variance | supply pressure variability × 4 |
    /// | 13620..<13980 | correlation break | `suction_flow` impulse line plugging (3 h lag) |
    /// | 15240..<15420 | intermittent | `vibration_de` loose connector (noise × 10) in bursts |
    /// | 16440..<16800 | step | supply pressure −1.5 bar |
    /// | 17400..<17880 | drift | `suction_temp` −0.25 K/h |
    ///
    /// Intermittent faults are labelled only during their bursts (`activeRows(ofFault:)`).
    public static let compressor2: PlantGenerator = {
        typealias T = CompressorStation.Tag
        typealias I = CompressorStation.Input
        typealias L = CompressorStation.Loop
        typealias M = CompressorStation.Failure
        func at(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Int { day * 1440 + hour * 60 + minute }
        func hours(_ day: Int, _ hour: Int, _ length: Int) -> Range<Int> { at(day, hour)..<(at(day, hour) + length * 60) }
        func share(_ day: Int, _ hour: Int, _ value: Double, ramp: Int = 60) -> SetpointChange {
            SetpointChange(row: at(day, hour), setpoint: L.throughput.rawValue, value: value, rampRows: ramp)
        }
        func pressure(_ day: Int, _ hour: Int, _ value: Double) -> SetpointChange {
            SetpointChange(row: at(day, hour), setpoint: L.dischargePressure.rawValue, value: value, rampRows: 30)
        }
        return PlantGenerator(
            process: CompressorStation(),
            seed: 2,
            start: Timestamp.parse("2024-11-18 00:00:00")!,
            interval: 60 * Timestamp.nanosecondsPerSecond,
            jitter: 5 * Timestamp.nanosecondsPerSecond,
            rows: 13 * 1440,
            schedule: [
                share(0, 10, 112), share(0, 20, 100), share(1, 3, 85), share(1, 12, 100),
                pressure(1, 15, 64), pressure(1, 22, 62),
                share(3, 6, 112), share(4, 14, 100), share(5, 20, 90), share(6, 16, 100),
                pressure(7, 8, 64), pressure(7, 20, 62), share(8, 9, 85), share(9, 2, 100), share(9, 12, 112),
                share(10, 7, 100), share(11, 0, 90), share(12, 10, 100),
            ],
            faults: [
                Fault(.step, .inputStep(disturbance: I.molecularWeight.rawValue, offset: 6), rows: hours(2, 8, 5),
                      ramp: 20, summary: "heavier gas (molecular weight +6 %): less speed for the same flow"),
                Fault(.drift, .sensorDrift(sensor: T.dischargePressure.rawValue, perHour: 0.5), rows: hours(2, 20, 5),
                      summary: "discharge_pressure transmitter drifts +0.5 bar/h; the speed loop follows it"),
                Fault(.stuck, .stuckSensor(sensor: T.exportFlow.rawValue), rows: hours(3, 5, 5),
                      summary: "export_flow transmitter stuck (through a throughput change)"),
                Fault(.variance, .disturbanceVariance(disturbance: I.rotorVibration.rawValue, factor: 6), rows: hours(3, 16, 5),
                      summary: "rotor vibration variability x 6 (developing looseness)"),
                Fault(.correlationBreak, .mechanism(M.recycle.rawValue, magnitude: 0.12), rows: hours(4, 20, 5),
                      ramp: 20, summary: "recycle valve passing 12 % of design flow: suction flow, speed, power up, export flow unchanged"),
                Fault(.intermittent, .mechanism(M.recycle.rawValue, magnitude: 0.15), rows: hours(5, 9, 4),
                      bursts: .init(on: 4...12, off: 15...45), summary: "anti-surge valve opens spuriously (15 %) in bursts"),
                Fault(.step, .inputStep(disturbance: I.coolingWater.rawValue, offset: 2), rows: hours(6, 2, 6),
                      ramp: 15, summary: "cooling-water supply +2 K (tower cell out of service)"),
                Fault(.drift, .sensorDrift(sensor: T.bearingTempDE.rawValue, perHour: 0.8), rows: hours(6, 18, 6),
                      summary: "bearing_temp_de RTD drifts +0.8 K/h"),
                Fault(.stuck, .stuckSensor(sensor: T.motorCurrent.rawValue), rows: hours(8, 8, 4),
                      summary: "motor_current transducer stuck (through a throughput change)"),
                Fault(.variance, .disturbanceVariance(disturbance: I.supplyPressure.rawValue, factor: 4), rows: hours(8, 14, 5),
                      summary: "supply pressure variability x 4 (upstream pressure control hunting)"),
                Fault(.correlationBreak, .sluggishSensor(sensor: T.suctionFlow.rawValue, timeConstant: 10_800), rows: hours(9, 11, 6),
                      summary: "suction_flow impulse line plugging: reading lags the flow by 3 h"),
                Fault(.intermittent, .sensorNoise(sensor: T.vibrationDE.rawValue, factor: 10), rows: hours(10, 14, 3),
                      bursts: .init(on: 2...8, off: 10...40), summary: "vibration_de loose connector: noise x 10 in bursts"),
                Fault(.step, .inputStep(disturbance: I.supplyPressure.rawValue, offset: -1.5), rows: hours(11, 10, 6),
                      ramp: 20, summary: "supply pressure -1.5 bar (upstream station changes its setpoint)"),
                Fault(.drift, .sensorDrift(sensor: T.suctionTemp.rawValue, perHour: -0.25), rows: hours(12, 2, 8),
                      summary: "suction_temp RTD drifts -0.25 K/h"),
            ],
            gaps: [at(10, 2)..<at(10, 3, 30)],
            dropout: 0.0015)
    }()
}
