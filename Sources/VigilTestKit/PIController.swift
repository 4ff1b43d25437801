// SPDX-License-Identifier: GPL-3.0-or-later

/// A discrete PI controller in velocity form, as a plant's distributed control system runs one
/// loop: each step it moves its output by `gain × Δerror + integralGain × error`, where the error
/// is `setpoint − measurement` (negative gains make a reverse-acting loop, e.g. more coolant for a
/// higher temperature), and clamps the output to `limits` (which also stops integral wind-up).
///
/// The measurement passes through a first-order filter first (`filter` is the weight of the new
/// value, 1 = no filter), as controllers filter noisy transmitters.
/// Used by the simulated process units of `PlantGenerator`; a value type, one per loop.
struct PIController: Sendable {
    /// Output change per unit of error change.
    var gain: Double
    /// Output change per unit of error per step.
    var integralGain: Double
    /// Output range (valve 0...100 %, pump speed, flow).
    var limits: ClosedRange<Double>
    /// Weight of a new measurement in the filtered one.
    var filter: Double
    /// The current output.
    private(set) var output: Double
    private var lastError: Double?
    private var filtered: Double?

    /// A loop starting at `output`.
    init(gain: Double, integralGain: Double, output: Double, limits: ClosedRange<Double>, filter: Double = 1) {
        precondition(filter > 0 && filter <= 1 && limits.contains(output))
        self.gain = gain
        self.integralGain = integralGain
        self.output = output
        self.limits = limits
        self.filter = filter
    }

    /// One control step; returns the new output. A NaN measurement (no reading yet) leaves
    /// the output where it is.
    mutating func update(setpoint: Double, measurement: Double) -> Double {
        if measurement.isNaN { return output }
        let pv = filtered.map { $0 + filter * (measurement - $0) } ?? measurement
        filtered = pv
        let error = setpoint - pv
        let change = gain * (error - (lastError ?? error)) + integralGain * error
        lastError = error
        output = min(max(output + change, limits.lowerBound), limits.upperBound)
        return output
    }
}
