// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// A deterministic synthetic plant: one process unit (`PlantProcess`, e.g. `ReactorUnit`,
/// `CompressorStation`) simulated row by row, with its control loops, autocorrelated
/// disturbances, slow drifts and normal operating-point changes, read through noisy sensors, with
/// labelled sustained faults, irregular sampling, a recording gap and rare dropouts. It makes the
/// multi-sensor fixtures of `Fixtures/plant/` on which multivariate monitoring is judged.
///
/// Each nominal row:
/// 1. every disturbance moves (its AR(1) part, its daily cycle, input-step faults on it);
/// 2. the operating schedule moves the setpoints (linear ramps);
/// 3. the unit steps once, its controllers acting on the previous row's readings, and returns
///    every sensor's true value;
/// 4. each sensor reads its true value from `deadTime` ago plus white noise, and sensor faults
///    (drift, stuck, noise, sluggish) change the reading.
/// The unit is first run for `warmUpRows` rows without faults, so the recording starts settled.
/// Timestamps move by a uniform ±`jitter`; rows in `gaps` are not recorded (the plant runs on);
/// each cell is empty with probability `dropout`.
///
/// Everything comes from seeded `SignalGenerator.Random` streams, one per purpose (disturbances,
/// measurement noise, jitter, dropouts, each intermittent fault's bursts), so removing a fault
/// changes nothing but that fault's effect; and only IEEE-754 basic arithmetic is used, so the
/// same configuration gives the same file bit for bit on every platform (a test checks the
/// committed fixtures against a fresh generation).
///
/// Threading: a value type; `generate` is a pure function of the configuration.
public struct PlantGenerator: Sendable {
    /// The process unit, in its initial state.
    public var process: any PlantProcess
    /// Seed of the random streams.
    public var seed: UInt64
    /// Timestamp of nominal row 0, nanoseconds since the epoch (midnight, so the daily cycles
    /// peak at the right hours).
    public var start: Int64
    /// Nominal sampling interval, nanoseconds; also the simulation step.
    public var interval: Int64
    /// Each row's timestamp moves by a uniform amount in `-jitter...jitter` ns (< interval / 2).
    public var jitter: Int64
    /// Nominal rows (fewer are recorded when `gaps` remove some).
    public var rows: Int
    /// Normal operating-point changes, not labelled.
    public var schedule: [SetpointChange]
    /// Labelled faults.
    public var faults: [Fault]
    /// Nominal row ranges that are not recorded (no fault may act in them).
    public var gaps: [Range<Int>]
    /// Probability that a cell is empty (a sensor dropout).
    public var dropout: Double
    /// Rows simulated before row 0 and thrown away.
    public var warmUpRows: Int

    /// A generator; see the properties for the parameters.
    public init(process: any PlantProcess, seed: UInt64, start: Int64, interval: Int64, jitter: Int64 = 0, rows: Int,
                schedule: [SetpointChange] = [], faults: [Fault] = [], gaps: [Range<Int>] = [], dropout: Double = 0,
                warmUpRows: Int = 720) {
        precondition(interval > 0 && jitter >= 0 && jitter < interval / 2 && rows > 0 && warmUpRows >= 0)
        self.process = process
        self.seed = seed
        self.start = start
        self.interval = interval
        self.jitter = jitter
        self.rows = rows
        self.schedule = schedule
        self.faults = faults
        self.gaps = gaps
        self.dropout = dropout
        self.warmUpRows = warmUpRows
    }

    /// Column names, as the unit's sensors.
    public var columns: [String] { process.sensors.map(\.name) }

    /// The nominal rows where fault `index` acts (one range, or its bursts). The bursts are
    /// drawn from the plant's seed and the fault's first row, so a fault keeps its bursts when the
    /// others are removed.
    public func activeRows(ofFault index: Int) -> [Range<Int>] {
        faults[index].activeRows(seed: seed ^ 0xB0B5_0000_0000_0005 ^ (UInt64(faults[index].rows.lowerBound) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Per nominal row, whether some fault acts on it (the `anomaly` label before gaps are cut).
    public func faultRows() -> [Bool] {
        var out = [Bool](repeating: false, count: rows)
        for i in faults.indices { for r in activeRows(ofFault: i) { for row in r.clamped(to: 0..<rows) { out[row] = true } } }
        return out
    }

    /// The recorded rows as wide CSV (see `SignalGenerator.Output.wideCSV(decimals:)`), each
    /// sensor with its own decimals.
    public func wideCSV() -> String {
        generate().wideCSV(decimals: process.sensors.map(\.decimals))
    }

    /// Runs the plant and returns the recorded rows: timestamps, readings (NaN = empty cell) and
    /// labels.
    public func generate() -> SignalGenerator.Output {
        var unit = process
        let sensors = unit.sensors, disturbances = unit.disturbances
        let n = sensors.count
        let dt = Double(interval) / 1e9

        // Where each fault acts: per fault, per row, the first row of the stretch it is in (-1 = not)
        // and how much of its effect acts there (ramps).
        let active = faults.indices.map(activeRows(ofFault:))
        var stretchStart = [[Int]](repeating: [Int](repeating: -1, count: rows), count: faults.count)
        var weight = [[Double]](repeating: [Double](repeating: 0, count: rows), count: faults.count)
        for (i, ranges) in active.enumerated() {
            for r in ranges {
                precondition(r.lowerBound >= 0 && r.upperBound <= rows, "fault \(i) outside the recording")
                precondition(!gaps.contains { $0.overlaps(r) }, "fault \(i) acts in a recording gap")
                for row in r {
                    stretchStart[i][row] = r.lowerBound
                    weight[i][row] = faults[i].weight(row: row, in: r)
                }
            }
        }

        let effects = faults.map(\.effect), faultSensor = faults.map(\.sensor)

        var disturbanceRandom = SignalGenerator.Random(seed: seed ^ 0xD157_0000_0000_0001)
        var noiseRandom = SignalGenerator.Random(seed: seed ^ 0x5E45_0000_0000_0002)
        let phi = disturbances.map { SignalGenerator.exponential(-dt / $0.timeConstant) }
        let innovation = zip(disturbances, phi).map { d, p in d.deviation * (1 - p * p).squareRoot() }
        var ar = disturbances.map { $0.deviation * disturbanceRandom.gaussian() }

        var setpoints = unit.setpoints.map(\.initial)
        var ramps: [(from: Double, to: Double, start: Int, length: Int)?] = Array(repeating: nil, count: setpoints.count)
        var changes = schedule.sorted { ($0.row, $0.setpoint) < ($1.row, $1.setpoint) }[...]

        let delays = sensors.map { Int(($0.deadTime / dt).rounded()) }
        var history = delays.map { [Double](repeating: .nan, count: $0 + 1) }
        var lagged = [Double](repeating: .nan, count: n)
        var measured = [Double](repeating: .nan, count: n)
        var recorded = [[Double]](repeating: [], count: n)
        for k in 0..<n { recorded[k].reserveCapacity(rows) }
        let twoPi = 2 * Double.pi

        for row in -warmUpRows..<rows {
            let seconds = Double(row) * dt
            let acting = row >= 0 ? faults.indices.filter { stretchStart[$0][row] >= 0 } : []

            // 1. Disturbances.
            var d = [Double](repeating: 0, count: disturbances.count)
            for (j, spec) in disturbances.enumerated() {
                var factor = 1.0
                var offset = 0.0
                for i in acting {
                    switch effects[i] {
                    case .disturbanceVariance(j, let f): factor *= 1 + (f - 1) * weight[i][row]
                    case .inputStep(j, let o): offset += o * weight[i][row]
                    default: break
                    }
                }
                ar[j] = phi[j] * ar[j] + innovation[j] * factor * disturbanceRandom.gaussian()
                var v = spec.mean + ar[j] + offset
                if spec.dailyAmplitude != 0 {
                    v += spec.dailyAmplitude * SignalGenerator.sine(twoPi * seconds / 86_400 + spec.dailyPhase)
                }
                d[j] = v
            }

            // 2. Operating schedule.
            if row >= 0 {
                while let c = changes.first, c.row <= row {
                    ramps[c.setpoint] = (setpoints[c.setpoint], c.value, c.row, c.rampRows)
                    changes.removeFirst()
                }
                for s in setpoints.indices {
                    guard let r = ramps[s] else { continue }
                    let progress = r.length == 0 ? 1 : min(1, Double(row - r.start + 1) / Double(r.length))
                    setpoints[s] = r.from + (r.to - r.from) * progress
                    if progress >= 1 { ramps[s] = nil }
                }
            }

            // 3. The unit.
            var mechanisms = [Double](repeating: 0, count: unit.mechanisms.count)
            for i in acting {
                if case .mechanism(let m, let magnitude) = effects[i] { mechanisms[m] += magnitude * weight[i][row] }
            }
            let truth = unit.step(Step(seconds: seconds, dt: dt, disturbances: d, setpoints: setpoints,
                                       mechanisms: mechanisms, measured: measured))
            precondition(truth.count == n)

            // 4. Sensors.
            var reading = [Double](repeating: 0, count: n)
            for k in 0..<n {
                // Dead time: a ring of the last delay + 1 true values.
                let slot = (row + warmUpRows) % history[k].count
                history[k][slot] = truth[k]
                let oldest = history[k][(slot + 1) % history[k].count]
                let value = oldest.isNaN ? truth[k] : oldest
                var noise = sensors[k].noise * noiseRandom.gaussian()
                var v = value
                var sluggish: Double? = nil
                var stuck = false
                for i in acting where faultSensor[i] == k {
                    switch effects[i] {
                    case .sensorNoise(_, let f): noise *= 1 + (f - 1) * weight[i][row]
                    case .sensorDrift(_, let perHour): v += perHour * Double(row - stretchStart[i][row]) * dt / 3600
                    case .stuckSensor: stuck = true
                    case .sluggishSensor(_, let tau): sluggish = tau
                    default: break
                    }
                }
                if let tau = sluggish {
                    lagged[k] += (value - lagged[k]) * dt / (tau + dt)
                    v += lagged[k] - value
                } else {
                    lagged[k] = value
                }
                reading[k] = stuck && !measured[k].isNaN ? measured[k] : v + noise
            }
            measured = reading
            if row >= 0 { for k in 0..<n { recorded[k].append(reading[k]) } }
        }

        // Recording: jitter, gaps, dropouts, labels.
        var jitterRandom = SignalGenerator.Random(seed: seed ^ 0x7177_0000_0000_0003)
        var dropoutRandom = SignalGenerator.Random(seed: seed ^ 0xD209_0000_0000_0004)
        var out = SignalGenerator.Output(columns: columns, timestamps: [], values: Array(repeating: [], count: n),
                                         anomaly: [], changepoint: [])
        let starts = Set(active.flatMap { $0.map(\.lowerBound) })
        let labelled = faultRows()
        for row in 0..<rows {
            let offset = jitter == 0 ? 0 : Int64(jitterRandom.uniform() * Double(2 * jitter + 1)) - jitter
            if gaps.contains(where: { $0.contains(row) }) { continue }
            out.timestamps.append(start + Int64(row) * interval + offset)
            for k in 0..<n {
                // Draw for every cell so a change of `dropout` does not move the others.
                let dropped = dropoutRandom.uniform() < dropout
                out.values[k].append(dropped ? .nan : recorded[k][row])
            }
            out.anomaly.append(labelled[row])
            out.changepoint.append(starts.contains(row))
        }
        return out
    }
}
