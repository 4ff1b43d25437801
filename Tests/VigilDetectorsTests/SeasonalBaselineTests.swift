// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

@Suite("Seasonal baseline")
struct SeasonalBaselineTests {
    static let hour: Int64 = 3_600_000_000_000

    /// A load that peaks every weekday at 09:00: 15-minute samples.
    static func load(at ts: Int64, noise: Double) -> Double {
        let hours = Double(ts) / Double(hour)
        let day = Int(hours / 24) % 7, h = hours.truncatingRemainder(dividingBy: 24)
        let peak = day < 5 ? 10 * Foundation.exp(-0.5 * (h - 9) * (h - 9)) : 0
        return 20 + peak + noise
    }

    @Test func learnsTheWeekAndIsTrustedAfterMinWeeks() {
        var b = SeasonalBaseline(configuration: .init(enabled: true, minWeeks: 2))
        var rng = Xoshiro256StarStar(seed: 4)
        let step = Self.hour / 4
        var trustedAt: Int64?
        for k in 0..<(4 * 7 * 96) {
            let ts = Int64(k) * step
            _ = b.step(timestamp: ts, value: Self.load(at: ts, noise: 0.3 * rng.nextGaussian()), learn: true)
            if trustedAt == nil, b.isTrusted { trustedAt = ts }
        }
        // Trusted when the last hour of week 2 closes (its first sample of week 3).
        #expect(trustedAt == 14 * 24 * Self.hour)
        // Monday 09:00 (between the means of 08–09 and 09–10, each 20 + 8.6) is 8.6 above
        // Saturday 09:00; interpolation follows the shape within an hour.
        #expect(abs(b.expected(at: 9 * Self.hour) - 28.6) < 0.4, "\(b.expected(at: 9 * Self.hour))")
        #expect(abs(b.expected(at: (5 * 24 + 9) * Self.hour) - 20) < 0.5)
        #expect(b.expected(at: 8 * Self.hour + Self.hour / 2) > b.expected(at: 7 * Self.hour + Self.hour / 2))
        // The offset from UTC moves the buckets: the same peak at 09:00 local is at 07:00 UTC.
        var local = SeasonalBaseline(configuration: .init(enabled: true, minWeeks: 1, utcOffset: 2))
        for k in 0..<(2 * 7 * 96) {
            let ts = Int64(k) * step
            _ = local.step(timestamp: ts - 2 * Self.hour, value: Self.load(at: ts, noise: 0), learn: true)
        }
        #expect(abs(local.expected(at: 7 * Self.hour) - b.expected(at: 9 * Self.hour)) < 0.6)
    }

    /// Through a chain: the daily peaks raise nothing once the baseline is trusted, a missing
    /// peak raises, and the alert's value is the raw load.
    @Test func aMissingPeakRaisesAndPeaksDoNot() {
        let settings = DetectorSettings(zscore: DetectorSection(ZScoreSettings(window: 512, warmup: 96),
                                                                alerts: AlertPolicy(threshold: 6, criticalThreshold: 9)),
                                        surprise: nil, seasonal: .init(enabled: true, minWeeks: 2))
        var chain = SensorDetectors(sensor: 0, settings: settings)
        var plain = SensorDetectors(sensor: 0, settings: DetectorSettings(zscore: settings.zscore, surprise: nil))
        var rng = Xoshiro256StarStar(seed: 8)
        let step = Self.hour / 4
        let missingDay = 5 * 7 + 2  // a Wednesday of week 6
        var alerts: [(Int64, AlertEvent)] = [], plainAlerts: [AlertEvent] = []
        for k in 0..<(6 * 7 * 96) {
            let ts = Int64(k) * step
            var v = Self.load(at: ts, noise: 0.3 * rng.nextGaussian())
            if k / 96 == missingDay, v > 20.5 { v = 20 + 0.3 * rng.nextGaussian() }
            chain.process(Sample(sensor: 0, timestamp: ts, value: v)) { alerts.append((ts, $0)) }
            plain.process(Sample(sensor: 0, timestamp: ts, value: v)) { plainAlerts.append($0) }
        }
        let raised = alerts.filter { $0.1.event == .raised }
        let afterTrust = raised.filter { $0.0 >= 14 * 24 * Self.hour + 7 * 24 * Self.hour }  // a week to re-learn
        #expect(afterTrust.count == 1, "\(raised.map { $0.0 / Self.hour })")
        let missing = Int64(missingDay) * 24 * Self.hour
        #expect(afterTrust.first.map { $0.0 >= missing + 6 * Self.hour && $0.0 <= missing + 10 * Self.hour } == true)
        #expect(afterTrust.first.map { $0.1.value < 21.5 } == true, "the alert carries the raw load")
        // Without the baseline the missing peak is a normal value: nothing is raised that day.
        #expect(!plainAlerts.contains { $0.event == .raised && $0.timestamp >= missing && $0.timestamp < missing + 24 * Self.hour })
        #expect(chain.seasonalBaseline?.isTrusted == true)
    }

    @Test func snapshotRoundTrip() throws {
        let settings = DetectorSettings(seasonal: .init(enabled: true, minWeeks: 1))
        var a = SensorDetectors(sensor: 0, settings: settings)
        var rng = Xoshiro256StarStar(seed: 2)
        let step = Self.hour / 4
        for k in 0..<(10 * 96) { a.process(Sample(sensor: 0, timestamp: Int64(k) * step, value: Self.load(at: Int64(k) * step, noise: rng.nextGaussian()))) { _ in } }
        var w = SnapshotWriter()
        a.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var b = try SensorDetectors(sensor: 0, settings: settings, restoringFrom: &r)
        #expect(r.remaining == 0 && b.seasonalBaseline == a.seasonalBaseline)
        var ea: [AlertEvent] = [], eb: [AlertEvent] = []
        for k in (10 * 96)..<(20 * 96) {
            let ts = Int64(k) * step, v = Self.load(at: ts, noise: rng.nextGaussian()) + (k % 500 == 0 ? 30 : 0)
            a.process(Sample(sensor: 0, timestamp: ts, value: v)) { ea.append($0) }
            b.process(Sample(sensor: 0, timestamp: ts, value: v)) { eb.append($0) }
        }
        #expect(ea == eb && !ea.isEmpty)
        // The seasonal settings are part of the fingerprint (and absent ones leave it as it was).
        #expect(settings.fingerprint != DetectorSettings().fingerprint)
        #expect(DetectorSettings(seasonal: .init(enabled: true, minWeeks: 3)).fingerprint != settings.fingerprint)
    }
}
