// SPDX-License-Identifier: GPL-3.0-or-later

extension SignalGenerator {
    /// An anomaly injected over a range of nominal rows of one sensor.
    public struct Anomaly: Sendable, Equatable {
        /// What happens to the signal.
        public enum Kind: Sendable, Equatable {
            /// `magnitude` added to the sensor (a short burst when `rows` is short).
            case spike(sensor: Int, rows: Range<Int>, magnitude: Double)
            /// The sensor's level moves by `offset`.
            case levelShift(sensor: Int, rows: Range<Int>, offset: Double)
            /// The sensor's noise is multiplied by `factor`.
            case varianceChange(sensor: Int, rows: Range<Int>, factor: Double)
            /// The sensor repeats the value it had on the first row.
            case stuck(sensor: Int, rows: Range<Int>)
            /// A coupled sensor follows its source with the opposite gain: each sensor on its
            /// own looks normal, their relation does not.
            case correlationBreak(sensor: Int, rows: Range<Int>)
        }

        /// What happens to the signal.
        public var kind: Kind

        /// An anomaly of `kind`.
        public init(_ kind: Kind) { self.kind = kind }

        /// A burst of `magnitude` on `sensor` over `rows`.
        public static func spike(sensor: Int, rows: Range<Int>, magnitude: Double) -> Anomaly { .init(.spike(sensor: sensor, rows: rows, magnitude: magnitude)) }
        /// A level shift of `offset` on `sensor` over `rows`.
        public static func levelShift(sensor: Int, rows: Range<Int>, offset: Double) -> Anomaly { .init(.levelShift(sensor: sensor, rows: rows, offset: offset)) }
        /// Noise × `factor` on `sensor` over `rows`.
        public static func varianceChange(sensor: Int, rows: Range<Int>, factor: Double) -> Anomaly { .init(.varianceChange(sensor: sensor, rows: rows, factor: factor)) }
        /// `sensor` stuck at its value on the first of `rows`.
        public static func stuck(sensor: Int, rows: Range<Int>) -> Anomaly { .init(.stuck(sensor: sensor, rows: rows)) }
        /// Coupled `sensor` decorrelates from its source over `rows`.
        public static func correlationBreak(sensor: Int, rows: Range<Int>) -> Anomaly { .init(.correlationBreak(sensor: sensor, rows: rows)) }

        /// Rows affected (labelled anomalous).
        public var rows: Range<Int> {
            switch kind {
            case .spike(_, let r, _), .levelShift(_, let r, _), .varianceChange(_, let r, _), .stuck(_, let r), .correlationBreak(_, let r): r
            }
        }

        func offset(of sensor: Int, at row: Int) -> Double {
            switch kind {
            case .spike(sensor, let r, let m) where r.contains(row): m
            case .levelShift(sensor, let r, let o) where r.contains(row): o
            default: 0
            }
        }

        func noiseFactor(of sensor: Int, at row: Int) -> Double {
            if case .varianceChange(sensor, let r, let f) = kind, r.contains(row) { return f }
            return 1
        }

        func breaksCorrelation(of sensor: Int, at row: Int) -> Bool {
            if case .correlationBreak(sensor, let r) = kind { return r.contains(row) }
            return false
        }
    }
}
