// SPDX-License-Identifier: GPL-3.0-or-later

extension PlantGenerator {
    /// One sensor of a process unit: how the generator turns the true value into a reading.
    public struct Sensor: Sendable, Equatable {
        /// Column name (the sensor id is `<asset>/<name>`).
        public var name: String
        /// Engineering unit, for documentation.
        public var unit: String
        /// Standard deviation of the white measurement noise.
        public var noise: Double
        /// Decimals written to the CSV (the transmitter's resolution as the historian stores it).
        public var decimals: Int
        /// Transport or analysis delay: the reading is the true value this many seconds earlier.
        public var deadTime: Double

        /// A sensor; see the properties for the parameters.
        public init(_ name: String, unit: String, noise: Double, decimals: Int, deadTime: Double = 0) {
            precondition(noise >= 0 && decimals >= 0 && deadTime >= 0)
            self.name = name
            self.unit = unit
            self.noise = noise
            self.decimals = decimals
            self.deadTime = deadTime
        }
    }

    /// A process disturbance: `mean + dailyAmplitude · sin(2π · seconds / 86 400 + dailyPhase)`
    /// plus a stationary AR(1) process with standard deviation `deviation` and correlation time
    /// `timeConstant` (each row x ← φx + deviation·√(1−φ²)·ε with φ = e^(−Δt/τ)), so it wanders
    /// rather than jitters. Seconds count from the recording's start (midnight of its first day).
    public struct Disturbance: Sendable, Equatable {
        /// Name, for documentation (`ambient temperature`).
        public var name: String
        /// Level around which it moves.
        public var mean: Double
        /// Standard deviation of the AR(1) part.
        public var deviation: Double
        /// Correlation time of the AR(1) part, seconds.
        public var timeConstant: Double
        /// Amplitude of the daily cycle.
        public var dailyAmplitude: Double
        /// Phase of the daily cycle, radians.
        public var dailyPhase: Double

        /// A disturbance; see the properties for the parameters.
        public init(_ name: String, mean: Double, deviation: Double, timeConstant: Double,
                    dailyAmplitude: Double = 0, dailyPhase: Double = 0) {
            precondition(deviation >= 0 && timeConstant > 0)
            self.name = name
            self.mean = mean
            self.deviation = deviation
            self.timeConstant = timeConstant
            self.dailyAmplitude = dailyAmplitude
            self.dailyPhase = dailyPhase
        }
    }

    /// A setpoint the operators move (throughput, a temperature), with its value at the start.
    public struct Setpoint: Sendable, Equatable {
        /// Name, for documentation.
        public var name: String
        /// Engineering unit, for documentation.
        public var unit: String
        /// Value at the start of the recording.
        public var initial: Double

        /// A setpoint; see the properties for the parameters.
        public init(_ name: String, unit: String, initial: Double) {
            self.name = name
            self.unit = unit
            self.initial = initial
        }
    }

    /// A failure only the unit itself can model (a valve passing, a pump cavitating); healthy
    /// at magnitude 0, the meaning of the magnitude is the unit's.
    public struct Mechanism: Sendable, Equatable {
        /// Name, for documentation.
        public var name: String
        /// What a magnitude of 1 means.
        public var unit: String

        /// A mechanism; see the properties for the parameters.
        public init(_ name: String, unit: String) {
            self.name = name
            self.unit = unit
        }
    }

    /// A normal operating-point change: from `row` the setpoint moves linearly to `value` over
    /// `rampRows` rows, as operators ramp throughput. Not a fault, not labelled.
    public struct SetpointChange: Sendable, Equatable {
        /// Nominal row the ramp starts on.
        public var row: Int
        /// Index in the unit's `setpoints`.
        public var setpoint: Int
        /// Value at the end of the ramp.
        public var value: Double
        /// Length of the ramp, rows (0 = a step).
        public var rampRows: Int

        /// A change; see the properties for the parameters.
        public init(row: Int, setpoint: Int, value: Double, rampRows: Int) {
            precondition(rampRows >= 0)
            self.row = row
            self.setpoint = setpoint
            self.value = value
            self.rampRows = rampRows
        }
    }

    /// What a unit gets each step.
    public struct Step: Sendable {
        /// Nominal seconds since the recording's start (negative during the warm-up).
        public var seconds: Double
        /// Seconds since the previous step (the nominal interval).
        public var dt: Double
        /// Current value of each of the unit's disturbances (input-step faults included).
        public var disturbances: [Double]
        /// Current value of each setpoint.
        public var setpoints: [Double]
        /// Current magnitude of each of the unit's fault mechanisms (0 when healthy).
        public var mechanisms: [Double]
        /// The previous step's readings of every sensor (sensor faults included), which the
        /// unit's control loops act on, as a real controller acts on its transmitter; NaN on
        /// the very first step.
        public var measured: [Double]
    }
}
