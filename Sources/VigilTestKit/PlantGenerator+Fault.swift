// SPDX-License-Identifier: GPL-3.0-or-later

extension PlantGenerator {
    /// A sustained, labelled fault: an effect on the process or on one sensor over a range of
    /// nominal rows, continuous or (intermittent) in on/off bursts. The rows where it acts are
    /// labelled `anomaly = 1`; the first row of each continuous stretch is a `changepoint`.
    public struct Fault: Sendable, Equatable {
        /// The kind of fault, as the plant's fault list names it.
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            /// A step in one process input, which the dynamics and control loops propagate.
            case step
            /// A sensor whose reading ramps away from the true value.
            case drift
            /// A sensor whose reading stays at its last value.
            case stuck
            /// A process disturbance whose variance grows.
            case variance
            /// Sensors that stop following each other while each stays in its normal range.
            case correlationBreak = "correlation break"
            /// A fault that comes and goes in bursts.
            case intermittent
        }

        /// What the fault does while it acts.
        public enum Effect: Sendable, Equatable {
            /// `offset` added to disturbance `disturbance` (a feed composition step).
            case inputStep(disturbance: Int, offset: Double)
            /// The AR(1) innovations of `disturbance` multiplied by `factor` (its deviation grows
            /// towards `factor` times normal over its correlation time).
            case disturbanceVariance(disturbance: Int, factor: Double)
            /// The reading of `sensor` moves away from the truth by `perHour` units an hour.
            case sensorDrift(sensor: Int, perHour: Double)
            /// The reading of `sensor` repeats its last reading before the fault, without noise.
            case stuckSensor(sensor: Int)
            /// The measurement noise of `sensor` multiplied by `factor` (a loose connector).
            case sensorNoise(sensor: Int, factor: Double)
            /// The reading of `sensor` follows the truth through a first-order lag of
            /// `timeConstant` seconds (a plugged impulse line): noise as usual, level in range,
            /// but it no longer follows the process.
            case sluggishSensor(sensor: Int, timeConstant: Double)
            /// The unit's own fault mechanism `mechanism` at `magnitude` (a passing valve).
            case mechanism(Int, magnitude: Double)
        }

        /// On/off bursts of an intermittent fault: alternating stretches whose lengths (rows) are
        /// drawn uniformly from `on` and `off`, starting with a burst on the fault's first row.
        public struct Bursts: Sendable, Equatable {
            /// Length of a burst, rows.
            public var on: ClosedRange<Int>
            /// Length of a pause, rows.
            public var off: ClosedRange<Int>

            /// Bursts of `on` rows separated by pauses of `off` rows.
            public init(on: ClosedRange<Int>, off: ClosedRange<Int>) {
                precondition(on.lowerBound > 0 && off.lowerBound > 0)
                self.on = on
                self.off = off
            }
        }

        /// The kind, for the fault list and per-kind figures.
        public var kind: Kind
        /// What happens.
        public var effect: Effect
        /// Nominal rows of the episode (for an intermittent fault, bursts and pauses).
        public var rows: Range<Int>
        /// Bursts of an intermittent fault; nil when the fault acts on every row of `rows`.
        public var bursts: Bursts?
        /// Rows over which the effect builds up at the start of each stretch and fades at its end
        /// (a valve that starts passing, a tank being lined up), 0 for at once. Applies to
        /// input steps, mechanisms, variance and noise factors; a drift grows from 0 anyway, and
        /// stuck and sluggish sensors act at once.
        public var ramp: Int
        /// One line for people: `feed pump recirculation valve passing 7 %`.
        public var summary: String

        /// A fault; `bursts` must be given exactly when `kind` is `.intermittent`.
        public init(_ kind: Kind, _ effect: Effect, rows: Range<Int>, bursts: Bursts? = nil, ramp: Int = 0, summary: String) {
            precondition((kind == .intermittent) == (bursts != nil), "bursts are what makes a fault intermittent")
            precondition(!rows.isEmpty && ramp >= 0 && 2 * ramp <= rows.count)
            self.kind = kind
            self.effect = effect
            self.rows = rows
            self.bursts = bursts
            self.ramp = ramp
            self.summary = summary
        }

        /// How much of the effect acts on `row` of the stretch `stretch`: 1, or less within `ramp`
        /// rows of either end (the first row of a ramped stretch already has 1/ramp of it).
        func weight(row: Int, in stretch: Range<Int>) -> Double {
            guard ramp > 0 else { return 1 }
            let fromStart = row - stretch.lowerBound + 1, toEnd = stretch.upperBound - row
            return min(1, Double(min(fromStart, toEnd)) / Double(ramp))
        }

        /// The sensor the effect acts on directly, if it is a sensor fault.
        public var sensor: Int? {
            switch effect {
            case .sensorDrift(let s, _), .stuckSensor(let s), .sensorNoise(let s, _), .sluggishSensor(let s, _): s
            case .inputStep, .disturbanceVariance, .mechanism: nil
            }
        }

        /// The nominal rows where the fault acts: `rows` itself, or its bursts drawn from a
        /// generator seeded with `seed` (the plant's seed and the fault's position).
        func activeRows(seed: UInt64) -> [Range<Int>] {
            guard let bursts else { return [rows] }
            var random = SignalGenerator.Random(seed: seed)
            func draw(_ r: ClosedRange<Int>) -> Int {
                r.lowerBound + Int(random.uniform() * Double(r.upperBound - r.lowerBound + 1))
            }
            var out: [Range<Int>] = []
            var row = rows.lowerBound
            while row < rows.upperBound {
                let end = min(row + draw(bursts.on), rows.upperBound)
                out.append(row..<end)
                row = end + draw(bursts.off)
            }
            return out
        }
    }
}
