// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

extension SignalGenerator.Output {
    /// The rows as wide CSV: `timestamp` (`YYYY-MM-DD hh:mm:ss`, UTC, as plant historians
    /// write them), one column per sensor with `decimals` fixed decimals (empty cell for a
    /// dropout), then `anomaly` and `changepoint` (0/1). `\n` line ends. Deterministic: the text
    /// depends only on the values (no locale, no platform formatting).
    public func wideCSV(decimals: Int = 3) -> String {
        wideCSV(decimals: [Int](repeating: decimals, count: columns.count))
    }

    /// The rows as wide CSV as `wideCSV(decimals:)` does, with `decimals[k]` fixed decimals in
    /// column `k` (each transmitter's resolution).
    public func wideCSV(decimals: [Int]) -> String {
        precondition(decimals.count == columns.count)
        var s = "timestamp," + columns.joined(separator: ",") + ",anomaly,changepoint\n"
        s.reserveCapacity(timestamps.count * (22 + columns.count * 10))
        for row in timestamps.indices {
            let t = Timestamp.rfc3339(timestamps[row])
            // 2020-03-09T00:00:02.000000000Z → 2020-03-09 00:00:02
            s += t.prefix(10) + " " + t.dropFirst(11).prefix(8)
            for (k, column) in values.enumerated() {
                s += ","
                let v = column[row]
                if !v.isNaN { s += Self.fixed(v, decimals: decimals[k]) }
            }
            s += anomaly[row] ? ",1" : ",0"
            s += changepoint[row] ? ",1\n" : ",0\n"
        }
        return s
    }

    /// `v` rounded to `decimals` places, written without exponent: `-1.250`.
    static func fixed(_ v: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(v) * scale).rounded())
        let unit = Int64(scale)
        var frac = String(scaled % unit)
        frac = String(repeating: "0", count: decimals - frac.count) + frac
        let sign = v < 0 && scaled != 0 ? "-" : ""
        return decimals == 0 ? sign + String(scaled) : sign + String(scaled / unit) + "." + frac
    }
}
