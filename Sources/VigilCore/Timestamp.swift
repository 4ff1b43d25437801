// SPDX-License-Identifier: GPL-3.0-or-later

/// Timestamps are nanoseconds since the Unix epoch (UTC) as `Int64` everywhere in Vigil.
/// This is the one place that parses and formats their text forms.
public enum Timestamp {
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// Parses the timestamp forms found on the wire and in recordings:
    /// RFC 3339 (`2024-11-25T02:00:00.123456789Z`, `…+01:00`), the same with a space instead of
    /// `T` and no zone (taken as UTC, as NAB writes them: `2013-12-02 21:15:00`, optional
    /// fraction), and plain integers: epoch seconds (≤ 11 digits), milliseconds (12–14 digits) or
    /// nanoseconds (more) — and decimal epoch seconds (`1732500000.25`).
    /// Returns nil for anything else.
    public static func parse<C: Collection>(_ text: C) -> Int64? where C.Element == UInt8 {
        var bytes = Array(text)
        // Trim spaces and quotes.
        while let l = bytes.last, l == 0x20 || l == 0x09 || l == 0x0D || l == 0x22 { bytes.removeLast() }
        var start = 0
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x22 { start += 1 }
        if start > 0 { bytes.removeFirst(start) }
        if bytes.isEmpty { return nil }
        if let n = parseEpoch(bytes) { return n }
        return parseCalendar(bytes)
    }

    /// Parses a Swift string; see `parse(_:)` for the forms.
    public static func parse(_ text: String) -> Int64? { parse(Array(text.utf8)) }

    private static func parseEpoch(_ b: [UInt8]) -> Int64? {
        var i = 0
        var negative = false
        if b[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        var whole: Int64 = 0
        var digits = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            let (m, o1) = whole.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 0x30))
            if o1 || o2 { return nil }
            whole = a; digits += 1; i += 1
        }
        if digits == 0 { return nil }
        if i == b.count {
            let v = negative ? -whole : whole
            if digits <= 11 { return v.multipliedReportingOverflow(by: nanosecondsPerSecond).overflow ? nil : v * nanosecondsPerSecond }
            if digits <= 14 { return v.multipliedReportingOverflow(by: 1_000_000).overflow ? nil : v * 1_000_000 }
            return v
        }
        // Decimal epoch seconds.
        guard b[i] == UInt8(ascii: "."), digits <= 11 else { return nil }
        i += 1
        var frac: Int64 = 0
        var scale: Int64 = nanosecondsPerSecond
        var fracDigits = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            if scale > 1 { scale /= 10; frac += Int64(b[i] - 0x30) * scale }
            i += 1; fracDigits += 1
        }
        guard i == b.count, fracDigits > 0 else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: nanosecondsPerSecond)
        guard !overflow, scaled <= Int64.max - frac else { return nil }
        let v = scaled + frac
        return negative ? -v : v
    }

    private static func parseCalendar(_ b: [UInt8]) -> Int64? {
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var v = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += count
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2),
              expect(UInt8(ascii: "-")), let day = number(2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0
        var nanos: Int64 = 0
        var offsetSeconds = 0
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == 0x20 else { return nil }
            i += 1
            guard let h = number(2), expect(UInt8(ascii: ":")), let m = number(2) else { return nil }
            hour = h; minute = m
            if i < b.count, b[i] == UInt8(ascii: ":") {
                i += 1
                guard let s = number(2) else { return nil }
                second = s
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
            if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
                i += 1
                var scale: Int64 = nanosecondsPerSecond
                var any = false
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                    if scale > 1 { scale /= 10; nanos += Int64(b[i] - 0x30) * scale }
                    i += 1; any = true
                }
                if !any { return nil }
            }
            if i < b.count {
                if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                    i += 1
                } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = number(2) else { return nil }
                    _ = expect(UInt8(ascii: ":"))
                    guard let om = number(2), oh < 24, om < 60 else { return nil }
                    offsetSeconds = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
            guard i == b.count else { return nil }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        // Representable range: 1677-09-21 … 2262-04-11.
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: nanosecondsPerSecond)
        guard !overflow, scaled <= Int64.max - nanos else { return nil }
        return scaled + nanos
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// RFC 3339 in UTC with nanoseconds: `2024-11-25T02:00:00.123456789Z`.
    public static func rfc3339(_ ns: Int64) -> String {
        var secs = ns / nanosecondsPerSecond
        var frac = ns % nanosecondsPerSecond
        if frac < 0 { frac += nanosecondsPerSecond; secs -= 1 }
        var days = Int(secs / 86_400)
        var rem = Int(secs % 86_400)
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, mo, d) = civilFromDays(days)
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(mo, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2)).\(pad(Int(frac), 9))Z"
    }
}
