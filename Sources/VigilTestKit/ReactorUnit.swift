// SPDX-License-Identifier: GPL-3.0-or-later

/// A continuous exothermic reactor unit (A → B in a jacketed, stirred tank), simulated with its
/// control loops: the process behind `Fixtures/plant/reactor1.csv`.
///
/// ```
///  feed tank ─▶ feed pump ─FT─▶ steam preheater ─▶ reactor (level, T, p) ─▶ outlet valve ─▶ product cooler
///   (ambient)   (speed: FIC)     (steam: TIC)      ▲ jacket: coolant (TIC)   (LIC)          (cooling water)
///                                                   └ off-gas vent
/// ```
///
/// - Feed: the flow controller sets the pump speed to hold the feed-flow setpoint (throughput);
///   power goes as speed³ and vibration as speed² (affinity laws); the discharge pressure is the
///   reactor pressure plus the line loss (∝ flow²). The feed comes from a tank that follows the
///   ambient temperature (1 h lag); its composition wanders (AR(1)).
/// - Preheater: the steam flow is set to hold the preheated feed at its setpoint (4 min lag); the
///   steam chest pressure rises with the steam flow.
/// - Reactor: level from the volume balance (outlet valve set by the level controller, flow ∝
///   opening · √Δp); reactant concentration from the mole balance with a first-order rate
///   k = k₀ · activity · e^(0.07 (T − 85 °C)); temperature from the energy balance (feed sensible
///   heat, reaction heat, jacket duty, losses to ambient), held by the coolant flow; pressure and
///   off-gas follow temperature and reaction rate.
/// - Jacket: duty = ṁc (T − T_in)(1 − e^(−UA/ṁc)) (effectiveness of a jacket with coolant
///   flowing through; the coolant flow is the temperature loop's output).
/// - Coolant and cooling water come from a tower that follows the ambient (40 min lag); the product
///   cooler's outlet follows its effectiveness 1 − e^(−NTU), which falls with flow.
/// - Slow normal drift: catalyst activity −0.15 %/day, jacket fouling −0.2 %/day of its UA, product
///   cooler fouling −0.1 %/day, on top of the daily ambient cycle.
///
/// Threading: a value type.
public struct ReactorUnit: PlantProcess {
    /// The sensors, in column order (`Tag.x.rawValue` is the column index).
    public enum Tag: Int, CaseIterable, Sendable {
        case ambientTemp, feedFlow, feedPumpSpeed, feedPumpPower, feedPumpVibration, feedPressure, feedTemp,
             preheatTemp, steamFlow, steamPressure, feedComposition, reactorTemp, reactorTempB, reactorPressure,
             reactorLevel, outletValve, productFlow, coolantFlow, coolantTempIn, coolantTempOut, agitatorPower,
             offgasFlow, productConcentration, productTemp
    }

    /// The disturbances (`Input.x.rawValue` is the index faults name).
    public enum Input: Int, CaseIterable, Sendable {
        case ambient, feedComposition, feedTemperature, coolantTemperature, supplyPressure, ventPressure,
             steamHeader, pumpVibration
    }

    /// The setpoints.
    public enum Loop: Int, CaseIterable, Sendable {
        case feedFlow, preheatTemp, reactorTemp
    }

    /// The unit's own fault mechanisms.
    public enum Failure: Int, CaseIterable, Sendable {
        /// Fraction of the pump's flow returning to suction through a passing minimum-flow valve.
        case recirculation
        /// Fraction of the pump's capacity lost to cavitation (with vibration).
        case cavitation
        /// Fraction of the catalyst activity lost to a feed impurity.
        case catalystPoisoning
    }

    /// The reactor's sensors, in `Tag` order: column names, units, noise, resolution, dead time.
    public let sensors: [PlantGenerator.Sensor] = [
        .init("ambient_temp", unit: "°C", noise: 0.15, decimals: 2),
        .init("feed_flow", unit: "m³/h", noise: 0.05, decimals: 3),
        .init("feed_pump_speed", unit: "rpm", noise: 1.5, decimals: 1),
        .init("feed_pump_power", unit: "kW", noise: 0.12, decimals: 2),
        .init("feed_pump_vibration", unit: "mm/s", noise: 0.04, decimals: 3),
        .init("feed_pressure", unit: "bar", noise: 0.015, decimals: 3),
        .init("feed_temp", unit: "°C", noise: 0.12, decimals: 2),
        .init("preheat_temp", unit: "°C", noise: 0.08, decimals: 2),
        .init("steam_flow", unit: "kg/h", noise: 4, decimals: 1),
        .init("steam_pressure", unit: "bar", noise: 0.01, decimals: 3),
        .init("feed_composition", unit: "% A", noise: 0.08, decimals: 2, deadTime: 360),
        .init("reactor_temp", unit: "°C", noise: 0.04, decimals: 2),
        .init("reactor_temp_b", unit: "°C", noise: 0.06, decimals: 2),
        .init("reactor_pressure", unit: "bar", noise: 0.006, decimals: 3),
        .init("reactor_level", unit: "%", noise: 0.15, decimals: 2),
        .init("outlet_valve", unit: "%", noise: 0.1, decimals: 2),
        .init("product_flow", unit: "m³/h", noise: 0.06, decimals: 3),
        .init("coolant_flow", unit: "m³/h", noise: 0.1, decimals: 2),
        .init("coolant_temp_in", unit: "°C", noise: 0.08, decimals: 2),
        .init("coolant_temp_out", unit: "°C", noise: 0.1, decimals: 2),
        .init("agitator_power", unit: "kW", noise: 0.08, decimals: 2),
        .init("offgas_flow", unit: "Nm³/h", noise: 0.25, decimals: 2),
        .init("product_concentration", unit: "kmol/m³", noise: 0.008, decimals: 3, deadTime: 600),
        .init("product_temp", unit: "°C", noise: 0.1, decimals: 2),
    ]

    /// The disturbances, in `Input` order.
    public let disturbances: [PlantGenerator.Disturbance] = [
        .init("ambient temperature, °C", mean: 12, deviation: 1.0, timeConstant: 4 * 3600,
              dailyAmplitude: 5, dailyPhase: -0.75 * Double.pi),   // warmest at 15:00
        .init("feed composition, % A", mean: 80, deviation: 0.35, timeConstant: 3600),
        .init("feed tank temperature offset, K", mean: 0, deviation: 0.5, timeConstant: 3600),
        .init("cooling-water supply temperature offset, K", mean: 0, deviation: 0.25, timeConstant: 2400),
        .init("feed supply pressure (pump capacity), %", mean: 0, deviation: 1.0, timeConstant: 900),
        .init("vent back pressure, bar", mean: 0, deviation: 0.012, timeConstant: 1800),
        .init("steam header pressure, bar", mean: 0, deviation: 0.08, timeConstant: 1200),
        .init("pump rotor vibration, mm/s", mean: 0, deviation: 0.04, timeConstant: 600),
    ]

    /// The setpoints, in `Loop` order, at the design point.
    public let setpoints: [PlantGenerator.Setpoint] = [
        .init("feed flow (throughput)", unit: "m³/h", initial: 12),
        .init("preheated feed temperature", unit: "°C", initial: 60),
        .init("reactor temperature", unit: "°C", initial: 85),
    ]

    /// The fault mechanisms, in `Failure` order.
    public let mechanisms: [PlantGenerator.Mechanism] = [
        .init("feed pump recirculation (minimum-flow valve passing)", unit: "fraction of pump flow"),
        .init("feed pump cavitation", unit: "fraction of capacity lost"),
        .init("catalyst poisoning (feed impurity)", unit: "fraction of activity lost"),
    ]

    // Design values.
    static let nominalFeed = 12.0, nominalSpeed = 1480.0, levelSetpoint = 60.0, tankVolume = 16.0
    static let feedHeatCapacity = 4.0, waterHeatCapacity = 4.18   // MJ/(m³·K)
    static let rateConstant = 7.08, reactionHeat = 25.0            // 1/h at 85 °C; MJ/kmol

    // State.
    var speed = PIController(gain: 30, integralGain: 50, output: 1480, limits: 600...1800)
    var steam = PIController(gain: 8, integralGain: 3, output: 990, limits: 0...2500, filter: 0.5)
    var valve = PIController(gain: -3, integralGain: -0.15, output: 50, limits: 0...100)
    var coolant = PIController(gain: -1.2, integralGain: -0.05, output: 4.4, limits: 0.3...20, filter: 0.5)
    var tankTemp = 18.0, preheat = 60.0, volume = 9.6, concentration = 1.2, temperature = 85.0
    var coolantOut = 69.6, pressure = 2.5, towerTemp = 24.0, productTemp = 42.0, offgas = 34.0

    /// A unit at its design point (12 m³/h, 85 °C, level 60 %).
    public init() {}

    /// One row of the reactor: the control loops act on the last row's readings, then the
    /// balances advance; returns the true value of every sensor.
    public mutating func step(_ s: PlantGenerator.Step) -> [Double] {
        let d = s.disturbances, m = s.mechanisms, measured = s.measured
        let dt = s.dt, h = dt / 3600, days = s.seconds / 86_400
        func lag(_ x: inout Double, _ target: Double, _ tau: Double) { x += (target - x) * dt / (tau + dt) }
        func pv(_ tag: Tag) -> Double { measured.isEmpty ? .nan : measured[tag.rawValue] }
        let ambient = d[Input.ambient.rawValue]

        // Feed pump and flow loop.
        let n = speed.update(setpoint: s.setpoints[Loop.feedFlow.rawValue], measurement: pv(.feedFlow)) / Self.nominalSpeed
        let cavitation = m[Failure.cavitation.rawValue]
        let capacity = Self.nominalFeed * n * (1 + d[Input.supplyPressure.rawValue] / 100) * (1 - cavitation)
        let feed = capacity * (1 - m[Failure.recirculation.rawValue])
        let pumpPower = 22 * n * n * n * (1 - 0.4 * cavitation)
        let vibration = 1.6 * n * n + d[Input.pumpVibration.rawValue] + 8 * cavitation
        let line = feed / Self.nominalFeed
        let feedPressure = pressure + 0.5 + 1.8 * line * line

        // Feed tank and preheater.
        lag(&tankTemp, 18 + 0.35 * (ambient - 12), 3600)
        let feedTemp = tankTemp + d[Input.feedTemperature.rawValue]
        let steamFlow = steam.update(setpoint: s.setpoints[Loop.preheatTemp.rawValue], measurement: pv(.preheatTemp))
        lag(&preheat, feedTemp + 0.97 * steamFlow * 2.1 / (max(feed, 1) * Self.feedHeatCapacity), 240)
        let steamPressure = 2.2 + 0.0012 * (steamFlow - 990) + 0.4 * d[Input.steamHeader.rawValue]

        // Level and outlet.
        let opening = valve.update(setpoint: Self.levelSetpoint, measurement: pv(.reactorLevel))
        let level = 100 * volume / Self.tankVolume
        let dp = max(0.05, pressure - 1.0 + 0.1 * level / 60)
        let outflow = 0.24 * opening * (dp / 1.6).squareRoot()

        // Reaction.
        let feedConcentration = d[Input.feedComposition.rawValue] / 10
        let activity = (1 - 0.0015 * days) * (1 - m[Failure.catalystPoisoning.rawValue])
        let k = Self.rateConstant * activity * SignalGenerator.exponential(0.07 * (temperature - 85))
        let rate = k * concentration * volume
        let conversion = 1 - concentration / max(feedConcentration, 0.1)

        // Jacket.
        let coolantFlow = max(0.2, coolant.update(setpoint: s.setpoints[Loop.reactorTemp.rawValue], measurement: pv(.reactorTemp)))
        lag(&towerTemp, 24 + 0.3 * (ambient - 12), 2400)
        let coolantIn = towerTemp + d[Input.coolantTemperature.rawValue]
        let capacityRate = coolantFlow * Self.waterHeatCapacity
        let jacketNTU = 25 * (1 - 0.002 * days) / capacityRate
        let duty = capacityRate * (temperature - coolantIn) * (1 - SignalGenerator.exponential(-jacketNTU))
        lag(&coolantOut, coolantIn + duty / capacityRate, 180)

        // Off-gas, pressure, agitator, product cooler.
        lag(&offgas, 0.42 * rate * SignalGenerator.exponential(0.03 * (temperature - 85)), 120)
        lag(&pressure, 2.5 + 0.028 * (temperature - 85) + 0.008 * (offgas - 34) + d[Input.ventPressure.rawValue], 300)
        let agitator = 15 * (0.4 + 0.6 * level / 60) * (1 + 0.6 * (conversion - 0.85))
        let ntu = 60 * (1 - 0.001 * days) / (max(outflow, 0.5) * Self.feedHeatCapacity)
        let effectiveness = 1 - SignalGenerator.exponential(-ntu)
        lag(&productTemp, temperature - effectiveness * (temperature - coolantIn), 300)

        let truth: [Double] = [
            ambient, feed, n * Self.nominalSpeed, pumpPower, vibration, feedPressure, feedTemp,
            preheat, steamFlow, steamPressure, d[Input.feedComposition.rawValue], temperature, temperature + 0.15, pressure,
            level, opening, outflow, coolantFlow, coolantIn, coolantOut, agitator,
            offgas, concentration, productTemp,
        ]

        // Balances (explicit Euler over one row).
        let losses = 0.3 * (temperature - ambient)
        temperature += h * (feed * Self.feedHeatCapacity * (preheat - temperature) + Self.reactionHeat * rate - duty - losses)
            / (volume * Self.feedHeatCapacity)
        concentration = max(0, concentration + h * (feed / volume * (feedConcentration - concentration) - k * concentration))
        volume = min(max(volume + h * (feed - outflow), 0.8), 15.8)
        return truth
    }
}
