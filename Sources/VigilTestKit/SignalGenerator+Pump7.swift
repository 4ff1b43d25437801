// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

extension SignalGenerator {
    /// The asset of `Fixtures/synthetic/pump7.csv`: a pump with four sensors sampled about once
    /// a minute (±3 s jitter) for three days from 2020-03-09 00:00:00 UTC, a two-hour recording
    /// gap, rare dropouts, and one anomaly of each kind:
    ///
    /// | rows | sensor | anomaly |
    /// | --- | --- | --- |
    /// | 700..<705 | vibration | spike +3 mm/s |
    /// | 1500..<1740 | temperature | level shift +6 °C |
    /// | 2300..<2500 | vibration | noise × 6 |
    /// | 3000..<3180 | pressure | stuck |
    /// | 3600..<3800 | flow | correlation break with pressure |
    ///
    /// Rows 2000..<2120 are the gap.
    public static let pump7 = SignalGenerator(
        seed: 7,
        start: Timestamp.parse("2020-03-09 00:00:00")!,
        interval: 60 * Timestamp.nanosecondsPerSecond,
        jitter: 3 * Timestamp.nanosecondsPerSecond,
        channels: [
            Channel(name: "vibration", baseline: 2.0, amplitude: 0.3, period: 6 * 3600, noise: 0.05),
            Channel(name: "temperature", baseline: 60, amplitude: 4, period: 86_400, phase: -1.2, noise: 0.2, driftPerDay: 0.5),
            Channel(name: "pressure", baseline: 5, amplitude: 0.4, period: 90 * 60, noise: 0.02),
            Channel(name: "flow", baseline: 20, noise: 0.1, coupling: Coupling(source: 2, gain: 8)),
        ],
        anomalies: [
            .spike(sensor: 0, rows: 700..<705, magnitude: 3),
            .levelShift(sensor: 1, rows: 1500..<1740, offset: 6),
            .varianceChange(sensor: 0, rows: 2300..<2500, factor: 6),
            .stuck(sensor: 2, rows: 3000..<3180),
            .correlationBreak(sensor: 3, rows: 3600..<3800),
        ],
        gaps: [2000..<2120],
        dropout: 0.002
    )

    /// Nominal rows of `pump7` (three days at one a minute).
    public static let pump7Rows = 3 * 24 * 60
}
