// SPDX-License-Identifier: GPL-3.0-or-later

/// A gas compressor station (a two-stage centrifugal compressor with intercooler, aftercooler
/// and an electric motor on a variable-speed drive), simulated with its control loop: the process
/// behind `Fixtures/plant/compressor2.csv`.
///
/// ```
///  supply ─▶ filter ─FT─▶ stage 1 ─▶ intercooler ─▶ stage 2 ─▶ aftercooler ─FT─▶ export pipeline ─▶ customers
///  (p, T)   (ΔP ∝ Q²)    ▲  speed (PIC on discharge pressure)  (cooling water)        (linepack)       (demand)
///                        └──────────── recycle (anti-surge) valve, closed in normal operation ◀┘
/// ```
///
/// - Demand: the customers' draw follows a daily profile (two harmonics, ±10 %), an AR(1)
///   fluctuation and the station's share (the throughput setpoint, moved by dispatch).
/// - Pressure: the export pipeline's linepack integrates compressor flow minus demand; the
///   speed controller holds the discharge pressure at its setpoint.
/// - Compressor map: head ∝ speed² · (1.25 − 0.25 φ²) with φ the flow coefficient; the head
///   needed is ∝ T_suction · ln(pressure ratio) / molecular weight, so a heavier gas needs less
///   speed for the same flow. Each stage takes √(ratio); discharge temperature T_out = T_in · r^0.296.
/// - Power from molar flow and temperature rise; motor current from power; winding, lube-oil and
///   bearing temperatures through their thermal lags; vibration ∝ speed² plus a rotor disturbance.
/// - Suction gas follows the ambient weakly through the buried pipeline (6 h lag) and the upstream
///   station's discharge temperature (AR(1)); cooling water follows the ambient through the tower
///   (1 h lag), the aftercooler (air) directly.
/// - Slow normal drift: intercooler fouling (effectiveness −0.15 %/day), suction filter loading
///   (pressure drop +3 %/day), on top of the daily ambient and demand cycles.
///
/// Threading: a value type.
public struct CompressorStation: PlantProcess {
    /// The sensors, in column order (`Tag.x.rawValue` is the column index).
    public enum Tag: Int, CaseIterable, Sendable {
        case ambientTemp, suctionPressure, suctionTemp, suctionFlow, stage1DischargeTemp, interstagePressure,
             intercoolerOutletTemp, stage2DischargeTemp, dischargePressure, exportFlow, exportTemp, compressorSpeed,
             motorPower, motorCurrent, windingTemp, coolingWaterTempIn, coolingWaterTempOut, lubeOilTemp,
             lubeOilPressure, bearingTempDE, bearingTempNDE, vibrationDE, vibrationNDE
    }

    /// The disturbances (`Input.x.rawValue` is the index faults name).
    public enum Input: Int, CaseIterable, Sendable {
        case ambient, demand, supplyPressure, coolingWater, molecularWeight, rotorVibration, lubeOil, supplyTemperature
    }

    /// The setpoints.
    public enum Loop: Int, CaseIterable, Sendable {
        case throughput, dischargePressure
    }

    /// The unit's own fault mechanisms.
    public enum Failure: Int, CaseIterable, Sendable {
        /// Recycle (anti-surge) flow as a fraction of design flow, while the valve is meant to be
        /// closed: a passing valve, or a spurious opening.
        case recycle
    }

    /// The station's sensors, in `Tag` order: column names, units, noise, resolution, dead time.
    public let sensors: [PlantGenerator.Sensor] = [
        .init("ambient_temp", unit: "°C", noise: 0.1, decimals: 2),
        .init("suction_pressure", unit: "bar", noise: 0.02, decimals: 3),
        .init("suction_temp", unit: "°C", noise: 0.1, decimals: 2),
        .init("suction_flow", unit: "kNm³/h", noise: 0.3, decimals: 2),
        .init("stage1_discharge_temp", unit: "°C", noise: 0.12, decimals: 2),
        .init("interstage_pressure", unit: "bar", noise: 0.02, decimals: 3),
        .init("intercooler_outlet_temp", unit: "°C", noise: 0.1, decimals: 2),
        .init("stage2_discharge_temp", unit: "°C", noise: 0.12, decimals: 2),
        .init("discharge_pressure", unit: "bar", noise: 0.02, decimals: 3),
        .init("export_flow", unit: "kNm³/h", noise: 0.3, decimals: 2),
        .init("export_temp", unit: "°C", noise: 0.12, decimals: 2),
        .init("compressor_speed", unit: "rpm", noise: 3, decimals: 1),
        .init("motor_power", unit: "kW", noise: 4, decimals: 1),
        .init("motor_current", unit: "A", noise: 0.4, decimals: 2),
        .init("winding_temp", unit: "°C", noise: 0.1, decimals: 2),
        .init("cooling_water_temp_in", unit: "°C", noise: 0.1, decimals: 2),
        .init("cooling_water_temp_out", unit: "°C", noise: 0.1, decimals: 2),
        .init("lube_oil_temp", unit: "°C", noise: 0.1, decimals: 2),
        .init("lube_oil_pressure", unit: "bar", noise: 0.005, decimals: 3),
        .init("bearing_temp_de", unit: "°C", noise: 0.12, decimals: 2),
        .init("bearing_temp_nde", unit: "°C", noise: 0.12, decimals: 2),
        .init("vibration_de", unit: "mm/s", noise: 0.05, decimals: 3),
        .init("vibration_nde", unit: "mm/s", noise: 0.05, decimals: 3),
    ]

    /// The disturbances, in `Input` order.
    public let disturbances: [PlantGenerator.Disturbance] = [
        .init("ambient temperature, °C", mean: 4, deviation: 1.2, timeConstant: 4 * 3600,
              dailyAmplitude: 4, dailyPhase: -2 * Double.pi / 3),   // warmest at 14:00
        .init("demand fluctuation, %", mean: 0, deviation: 2, timeConstant: 1800),
        .init("supply pressure offset, bar", mean: 0, deviation: 0.35, timeConstant: 2 * 3600),
        .init("cooling-water supply temperature offset, K", mean: 0, deviation: 0.3, timeConstant: 3600),
        .init("gas molecular weight offset, %", mean: 0, deviation: 0.4, timeConstant: 3 * 3600),
        .init("rotor vibration, mm/s", mean: 0, deviation: 0.06, timeConstant: 1200),
        .init("lube-oil pressure offset, bar", mean: 0, deviation: 0.02, timeConstant: 1800),
        .init("supply gas temperature offset, K", mean: 0, deviation: 0.5, timeConstant: 5400),
    ]

    /// The setpoints, in `Loop` order, at the design point.
    public let setpoints: [PlantGenerator.Setpoint] = [
        .init("station throughput (mean demand)", unit: "kNm³/h", initial: 100),
        .init("discharge pressure", unit: "bar", initial: 62),
    ]

    /// The fault mechanisms, in `Failure` order.
    public let mechanisms: [PlantGenerator.Mechanism] = [
        .init("recycle (anti-surge) flow with the valve meant closed", unit: "fraction of design flow"),
    ]

    // Design values.
    static let designFlow = 100.0, designSpeed = 9000.0, designRatio = 62.0 / 39.75, kelvin = 273.15
    static let exponent = 0.296          // (κ − 1) / (κ η_p), natural gas
    static let linepack = 100.0          // kNm³/h of imbalance per bar/min

    // State.
    var speed = PIController(gain: 360, integralGain: 36, output: 9000, limits: 6000...10_500, filter: 0.5)
    var discharge = 62.0, groundGas = 8.0, towerWater = 12.0, winding = 78.0, oil = 45.0
    var bearingDE = 73.0, bearingNDE = 67.0, coolingOut = 15.9, lastFlow = 100.0

    /// A station at its design point (100 kNm³/h, 62 bar).
    public init() {}

    /// One row of the station: the control loops act on the last row's readings, then the
    /// balances advance; returns the true value of every sensor.
    public mutating func step(_ s: PlantGenerator.Step) -> [Double] {
        let d = s.disturbances, measured = s.measured
        let dt = s.dt, days = s.seconds / 86_400
        func lag(_ x: inout Double, _ target: Double, _ tau: Double) { x += (target - x) * dt / (tau + dt) }
        let ambient = d[Input.ambient.rawValue]
        let twoPi = 2 * Double.pi

        // Demand and speed loop.
        let profile = 1 + 0.07 * SignalGenerator.sine(twoPi * s.seconds / 86_400 - 2.3)
            + 0.04 * SignalGenerator.sine(2 * twoPi * s.seconds / 86_400 - 1.0)
        let demand = s.setpoints[Loop.throughput.rawValue] * profile * (1 + d[Input.demand.rawValue] / 100)
        let n = speed.update(setpoint: s.setpoints[Loop.dischargePressure.rawValue],
                             measurement: measured[Tag.dischargePressure.rawValue]) / Self.designSpeed

        // Suction: supply pressure less the filter loss; gas temperature lags the ambient.
        let recycle = s.mechanisms[Failure.recycle.rawValue] * Self.designFlow
        lag(&groundGas, 8 + 0.15 * (ambient - 4), 6 * 3600)
        let suctionGas = groundGas + d[Input.supplyTemperature.rawValue]
        // The filter sees last step's flow (the map below needs the suction pressure first).
        let load = lastFlow / Self.designFlow
        let suction = 40 + d[Input.supplyPressure.rawValue] - 0.25 * (1 + 0.03 * days) * load * load
        let ratio = discharge / suction

        // Compressor map: flow through the machine for this speed and the head the ratio needs.
        let head = (suctionGas + Self.kelvin) / (8 + Self.kelvin) * SignalGenerator.logarithm(ratio)
            / SignalGenerator.logarithm(Self.designRatio) / (1 + d[Input.molecularWeight.rawValue] / 100)
        let phi2 = max(0, (1.25 - head / (n * n)) / 0.25)
        let flow = Self.designFlow * n * phi2.squareRoot()
        let net = flow - recycle

        // Temperatures along the machine.
        let stageRise = SignalGenerator.exponential(Self.exponent * 0.5 * SignalGenerator.logarithm(ratio))
        let stage1 = (suctionGas + Self.kelvin) * stageRise - Self.kelvin
        lag(&towerWater, 12 + 0.25 * (ambient - 4), 3600)
        let waterIn = towerWater + d[Input.coolingWater.rawValue]
        let effectiveness = 0.75 * (1 - 0.0015 * days)
        let intercooled = stage1 - effectiveness * (stage1 - waterIn)
        lag(&coolingOut, waterIn + 0.35 * flow / Self.designFlow * (stage1 - intercooled), 300)
        let stage2 = (intercooled + Self.kelvin) * stageRise - Self.kelvin
        let export = stage2 - 0.8 * (stage2 - ambient)
        let interstage = (suction * discharge).squareRoot() - 0.15 * (flow / Self.designFlow) * (flow / Self.designFlow)

        // Power and motor: molar flow × c_p × temperature rise, plus mechanical losses ∝ n³.
        let power = flow / 22.414 / 3.6 * 40 * ((stage1 - suctionGas) + (stage2 - intercooled)) + 120 * n * n * n
        let current = power * 1000 / (1.7320508075688772 * 6600 * 0.93) + 30
        lag(&winding, 18 + 0.3 * (ambient - 4) + 60 * (current / 220) * (current / 220), 1800)
        lag(&oil, 45 + 0.4 * (waterIn - 12) + 3 * (n * n - 1), 900)
        let oilPressure = 2.5 - 0.012 * (oil - 45) + d[Input.lubeOil.rawValue]
        lag(&bearingDE, oil + 28 * n * n * (1 + 0.15 * (power / 2000 - 1)), 600)
        lag(&bearingNDE, oil + 22 * n * n, 600)
        let rotor = d[Input.rotorVibration.rawValue]
        let vibrationDE = 1.5 * n * n + rotor
        let vibrationNDE = 1.1 * n * n + 0.7 * rotor

        let truth: [Double] = [
            ambient, suction, suctionGas, flow, stage1, interstage,
            intercooled, stage2, discharge, net, export, n * Self.designSpeed,
            power, current, winding, waterIn, coolingOut, oil,
            oilPressure, bearingDE, bearingNDE, vibrationDE, vibrationNDE,
        ]
        // Linepack: the export pipeline's pressure integrates the imbalance.
        discharge += (net - demand) * dt / 60 / Self.linepack
        lastFlow = flow
        return truth
    }
}
