// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

extension PlantGenerator {
    /// The plant of `Fixtures/plant/reactor1.csv`: a `ReactorUnit` sampled once a minute (±3 s
    /// jitter) for 14 days from 2024-03-04 00:00 UTC. The first two days are fault-free and visit
    /// every operating point (throughput 10.2, 12 and 13.2 m³/h; reactor at 85 and 86 °C); the
    /// operators move them twelve more times later (10 throughput, 2 temperature changes), all
    /// normal. A two-hour recording gap on day 9 (22:00–24:00), 0.1 % empty cells. Fourteen
    /// labelled faults, rows = minutes from the start:
    ///
    /// | rows | kind | fault |
    /// | --- | --- | --- |
    /// | 3480..<3780 | step | feed composition +1.2 % A |
    /// | 5160..<5460 | drift | `reactor_temp` (controlled) −0.3 K/h |
    /// | 6720..<6960 | stuck | `steam_flow`, through a throughput change |
    /// | 7080..<7440 | variance | feed composition variability × 4 |
    /// | 7740..<8040 | correlation break | feed pump minimum-flow valve passing 12 % |
    /// | 9360..<9600 | intermittent | `feed_flow` (controlled) loose connector, noise × 8 in bursts |
    /// | 10200..<10560 | step | feed tank temperature −2.5 K |
    /// | 11280..<11580 | drift | `feed_flow` (controlled) +0.2 m³/h per hour |
    /// | 12240..<12480 | stuck | `product_concentration` analyser, through a temperature change |
    /// | 13440..<13680 | variance | cooling-water temperature variability × 5 |
    /// | 15540..<15780 | correlation break | feed pump minimum-flow valve passing 10 % |
    /// | 16740..<16920 | intermittent | feed pump cavitation 6 % in bursts |
    /// | 17640..<18000 | step | catalyst poisoning −12 % activity |
    /// | 18780..<19020 | drift | `reactor_temp_b` +0.4 K/h |
    ///
    /// Intermittent faults are labelled only during their bursts (`activeRows(ofFault:)`).
    public static let reactor1: PlantGenerator = {
        typealias T = ReactorUnit.Tag
        typealias I = ReactorUnit.Input
        typealias L = ReactorUnit.Loop
        typealias M = ReactorUnit.Failure
        func at(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Int { day * 1440 + hour * 60 + minute }
        func hours(_ day: Int, _ hour: Int, _ length: Int) -> Range<Int> { at(day, hour)..<(at(day, hour) + length * 60) }
        func feed(_ day: Int, _ hour: Int, _ value: Double, ramp: Int) -> SetpointChange {
            SetpointChange(row: at(day, hour), setpoint: L.feedFlow.rawValue, value: value, rampRows: ramp)
        }
        func reactor(_ day: Int, _ hour: Int, _ value: Double) -> SetpointChange {
            SetpointChange(row: at(day, hour), setpoint: L.reactorTemp.rawValue, value: value, rampRows: 30)
        }
        return PlantGenerator(
            process: ReactorUnit(),
            seed: 1,
            start: Timestamp.parse("2024-03-04 00:00:00")!,
            interval: 60 * Timestamp.nanosecondsPerSecond,
            jitter: 3 * Timestamp.nanosecondsPerSecond,
            rows: 14 * 1440,
            schedule: [
                feed(0, 13, 13.2, ramp: 45), feed(0, 22, 12.0, ramp: 30), feed(1, 6, 10.2, ramp: 60),
                reactor(1, 9, 86), feed(1, 15, 12.0, ramp: 45), reactor(1, 21, 85),
                feed(3, 8, 13.2, ramp: 45), feed(4, 18, 12.0, ramp: 30), feed(5, 5, 10.8, ramp: 40), feed(6, 20, 12.0, ramp: 30),
                feed(7, 10, 12.6, ramp: 30), feed(8, 6, 12.0, ramp: 30), reactor(8, 13, 86), reactor(8, 21, 85),
                feed(10, 14, 10.2, ramp: 60), feed(11, 9, 12.0, ramp: 45), feed(12, 20, 13.2, ramp: 45),
                feed(13, 12, 12.0, ramp: 30),
            ],
            faults: [
                Fault(.step, .inputStep(disturbance: I.feedComposition.rawValue, offset: 1.2), rows: hours(2, 10, 5),
                      ramp: 15, summary: "feed composition +1.2 % A (upstream blend change)"),
                Fault(.drift, .sensorDrift(sensor: T.reactorTemp.rawValue, perHour: -0.3), rows: hours(3, 14, 5),
                      summary: "reactor_temp thermocouple drifts -0.3 K/h; the temperature loop follows it"),
                Fault(.stuck, .stuckSensor(sensor: T.steamFlow.rawValue), rows: hours(4, 16, 4),
                      summary: "steam_flow transmitter stuck (through a throughput change)"),
                Fault(.variance, .disturbanceVariance(disturbance: I.feedComposition.rawValue, factor: 4), rows: hours(4, 22, 6),
                      summary: "feed composition variability x 4 (blending upset)"),
                Fault(.correlationBreak, .mechanism(M.recirculation.rawValue, magnitude: 0.12), rows: hours(5, 9, 5),
                      ramp: 45, summary: "feed pump minimum-flow valve passing 12 %: speed, power and vibration up, flow unchanged"),
                Fault(.intermittent, .sensorNoise(sensor: T.feedFlow.rawValue, factor: 8), rows: hours(6, 12, 4),
                      bursts: .init(on: 4...12, off: 15...40),
                      summary: "feed_flow transmitter loose connector: noise x 8 in bursts, which the flow loop chases"),
                Fault(.step, .inputStep(disturbance: I.feedTemperature.rawValue, offset: -2.5), rows: hours(7, 2, 6),
                      ramp: 15, summary: "feed tank temperature -2.5 K (colder tank lined up)"),
                Fault(.drift, .sensorDrift(sensor: T.feedFlow.rawValue, perHour: 0.2), rows: hours(7, 20, 5),
                      summary: "feed_flow meter drifts +0.2 m3/h per hour; the flow loop follows it"),
                Fault(.stuck, .stuckSensor(sensor: T.productConcentration.rawValue), rows: hours(8, 12, 4),
                      summary: "product_concentration analyser stuck (through a temperature change)"),
                Fault(.variance, .disturbanceVariance(disturbance: I.coolantTemperature.rawValue, factor: 5), rows: hours(9, 8, 4),
                      summary: "cooling-water temperature variability x 5 (tower fan cycling)"),
                Fault(.correlationBreak, .mechanism(M.recirculation.rawValue, magnitude: 0.10), rows: hours(10, 19, 4),
                      ramp: 45, summary: "feed pump minimum-flow valve passing 10 %"),
                Fault(.intermittent, .mechanism(M.cavitation.rawValue, magnitude: 0.06), rows: hours(11, 15, 3),
                      bursts: .init(on: 3...10, off: 10...30), summary: "feed pump cavitation (6 % capacity) in bursts"),
                Fault(.step, .mechanism(M.catalystPoisoning.rawValue, magnitude: 0.12), rows: hours(12, 6, 6),
                      ramp: 30, summary: "feed impurity poisons the catalyst: activity -12 %"),
                Fault(.drift, .sensorDrift(sensor: T.reactorTempB.rawValue, perHour: 0.4), rows: hours(13, 1, 4),
                      summary: "reactor_temp_b thermocouple drifts +0.4 K/h"),
            ],
            gaps: [at(9, 22)..<at(10, 0)],
            dropout: 0.001)
    }()
}
