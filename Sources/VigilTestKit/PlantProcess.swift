// SPDX-License-Identifier: GPL-3.0-or-later

/// A simulated process unit that `PlantGenerator` steps once per nominal row: it turns the
/// current disturbances, setpoints, fault mechanisms and the previous row's measurements (which
/// its control loops act on) into the true value of every sensor.
///
/// A unit describes what the generator must provide: its sensors (with their measurement noise,
/// resolution and dead time, applied by the generator), its disturbances (AR(1) processes the
/// generator draws, so a fault can step them or raise their variance), its setpoints (which the
/// operating schedule changes) and its fault mechanisms (failures only the unit can model, such as
/// a leaking valve; their magnitude is 0 when healthy).
///
/// Conforming types must be deterministic (their state depends only on the steps they were given)
/// and use only IEEE-754 basic arithmetic (`SignalGenerator.exponential`, `.logarithm`, `.sine`
/// and `squareRoot()` rather than the C library), so a fixture is the same bit for bit everywhere.
public protocol PlantProcess: Sendable {
    /// The sensors, in column order.
    var sensors: [PlantGenerator.Sensor] { get }
    /// The disturbances the generator draws for the unit, in the order `step` receives them.
    var disturbances: [PlantGenerator.Disturbance] { get }
    /// The setpoints, in the order `step` receives them, with their initial values.
    var setpoints: [PlantGenerator.Setpoint] { get }
    /// The unit's own fault mechanisms, in the order `step` receives their magnitudes.
    var mechanisms: [PlantGenerator.Mechanism] { get }

    /// Advances the unit by `step.seconds − previous step's seconds` (one nominal row) and
    /// returns the true value of every sensor, in `sensors` order.
    mutating func step(_ step: PlantGenerator.Step) -> [Double]
}
