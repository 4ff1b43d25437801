// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

extension SignalGenerator {
    /// A buffer tank whose level, inflow and outflow obey the mass balance
    /// `inflow − outflow = 3600 × area × d(level)/dt` (flows in m³/h, level in m, area in m²)
    /// until an unmeasured leak of `leakFraction` of the mean flow opens at `leakRow`.
    ///
    /// - **Process** (simulated every second, recorded every `interval` seconds): the outflow is
    ///   the plant's demand, 40 m³/h with a daily swing of ±8 m³/h (less at the weekend) and an
    ///   Ornstein–Uhlenbeck wander (σ 3 m³/h, 2 h); a PI level controller (set point 2 m) moves the
    ///   inflow valve (no feed-forward: the level moves by a few centimetres as the demand wanders),
    ///   which follows with a 30 s lag; from `leakRow` a leak takes `leakFraction` ×
    ///   40 m³/h out of the tank.
    /// - **Transmitters**: flow meters with 0.1 m³/h noise, a level transmitter with 0.2 mm noise,
    ///   written with 3 and 4 decimals. The controller hides the leak: the inflow rises by the
    ///   leak and the level returns to its set point, so every sensor stays in its normal range.
    /// - **Labels**: rows from `leakRow` on are `anomaly = 1`.
    public static func tank(seed: UInt64 = 11, start: Int64 = Timestamp.parse("2024-03-04 00:00:00")!, interval: Int = 10,
                            rows: Int, leakRow: Int?, leakFraction: Double = 0.02, area: Double = 5) -> Output {
        var random = Random(seed: seed)
        var out = Output(columns: ["level", "inflow", "outflow"], timestamps: [], values: [[], [], []], anomaly: [], changepoint: [])
        out.timestamps.reserveCapacity(rows)
        for k in 0..<3 { out.values[k].reserveCapacity(rows) }
        let meanFlow = 40.0
        var level = 2.0
        var valve = meanFlow  // inflow actually delivered (m³/h)
        var wander = 0.0
        var integral = 0.0
        let kp = 40.0, ki = 0.02  // m³/h per m, per m·s
        let twoPi = 2 * Double.pi
        for row in 0..<rows {
            for step in 0..<interval {
                let t = Double(row * interval + step)
                let day = Int(t / 86_400) % 7
                let weekend = day >= 5
                let swing = (weekend ? 4.0 : 8.0) * sine(twoPi * t / 86_400 - 2.0)
                wander += -wander / 7200 + 3 * (2 / 7200.0).squareRoot() * random.gaussian()
                let outflow = max(5, meanFlow + swing + wander)
                let leak = leakRow.map { row >= $0 ? leakFraction * meanFlow : 0 } ?? 0
                let error = 2.0 - level
                integral += error
                let demand = min(100, max(0, meanFlow + kp * error + ki * integral))
                valve += (demand - valve) / 30
                level += (valve - outflow - leak) / 3600 / area
                if step == interval - 1 {
                    out.timestamps.append(start + Int64(row * interval + interval) * Timestamp.nanosecondsPerSecond)
                    out.values[0].append(level + 0.0002 * random.gaussian())
                    out.values[1].append(valve + 0.1 * random.gaussian())
                    out.values[2].append(outflow + 0.1 * random.gaussian())
                }
            }
            out.anomaly.append(leakRow.map { row >= $0 } ?? false)
            out.changepoint.append(row == leakRow)
        }
        return out
    }

    /// `Fixtures/hybrid/tank1.csv`: the tank sampled every 10 s for eight days from Monday
    /// 2024-03-04, a normal week, then a 2 % leak from the start of day 8 (row 60480) to the end.
    public static let tank1Rows = 8 * 8640
    public static let tank1LeakRow = 7 * 8640
    public static func tank1() -> Output { tank(rows: tank1Rows, leakRow: tank1LeakRow) }

    /// An electrical load with a weekly pattern, sampled every 15 minutes from Monday
    /// 2024-01-01: a morning and an evening peak on weekdays (the evening one smaller at the
    /// weekend, no morning peak then), a night base of 20 MW, noise (σ 0.8 MW) and an
    /// Ornstein–Uhlenbeck wander (σ 1 MW, 6 h). The morning peak of the day `missingPeakDay`
    /// (days from the start) does not come: rows 06:00–11:00 of that day are `anomaly = 1`.
    public static func weeklyLoad(seed: UInt64 = 12, start: Int64 = Timestamp.parse("2024-01-01 00:00:00")!,
                                  weeks: Int, missingPeakDay: Int?) -> Output {
        var random = Random(seed: seed)
        let interval = 900
        let rows = weeks * 7 * 96
        var out = Output(columns: ["load"], timestamps: [], values: [[]], anomaly: [], changepoint: [])
        var wander = 0.0
        func bump(_ hour: Double, centre: Double, width: Double) -> Double {
            let x = (hour - centre) / width
            return x * x < 30 ? SignalGenerator.exponential(-0.5 * x * x) : 0
        }
        for row in 0..<rows {
            let t = Double(row * interval)
            let day = Int(t / 86_400)
            let hour = (t - Double(day) * 86_400) / 3600
            let weekend = day % 7 >= 5
            wander += -wander * Double(interval) / 21_600 + 1 * (2 * Double(interval) / 21_600).squareRoot() * random.gaussian()
            let missing = day == missingPeakDay && hour >= 6 && hour < 11
            var load = 20 + wander
            if !weekend && !missing { load += 14 * bump(hour, centre: 8.5, width: 1.2) }
            load += (weekend ? 6 : 10) * bump(hour, centre: 19, width: 1.5)
            out.timestamps.append(start + Int64(row * interval) * Timestamp.nanosecondsPerSecond)
            out.values[0].append(load + 0.8 * random.gaussian())
            out.anomaly.append(missing)
            out.changepoint.append(missing && (row == 0 || !out.anomaly[row - 1]))
        }
        return out
    }

    /// `Fixtures/hybrid/load1.csv`: eight weeks of the weekly load; the morning peak of
    /// Wednesday of week 7 (day 44) is missing.
    public static let load1Weeks = 8
    public static let load1MissingDay = 44
    public static func load1() -> Output { weeklyLoad(weeks: load1Weeks, missingPeakDay: load1MissingDay) }
}
