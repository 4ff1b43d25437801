// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilDaemon

/// `LatencyHistogram`: buckets by bound (inclusive, as Prometheus' `le`), cumulative text.
@Suite("LatencyHistogram")
struct LatencyHistogramTests {
    @Test func decimalBoundsAreTenPerDecadeFromOneMicrosecondToTenSeconds() {
        let b = LatencyHistogram.decimalBounds
        #expect(b.count == 71)
        #expect(b.first == 1_000 && b.last == 10_000_000_000)
        #expect(Array(b.prefix(11)) == [1_000, 1_250, 1_600, 2_000, 2_500, 3_200, 4_000, 5_000, 6_400, 8_000, 10_000])
        #expect(zip(b, b.dropFirst()).allSatisfy { Double($1) / Double($0) <= 1.28 })
    }

    @Test func observationsLandInTheFirstBucketAtOrAboveThemAndRenderCumulatively() {
        let h = LatencyHistogram(bounds: [1_000, 2_000, 4_000])
        for ns: UInt64 in [0, 1_000, 1_001, 2_000, 3_999, 4_000, 4_001, 1_000_000] { h.observe(nanoseconds: ns) }
        var text = ""
        h.render(name: "x_seconds", help: "test", into: &text)
        #expect(text == """
            # HELP x_seconds test
            # TYPE x_seconds histogram
            x_seconds_bucket{le="1e-06"} 2
            x_seconds_bucket{le="2e-06"} 4
            x_seconds_bucket{le="4e-06"} 6
            x_seconds_bucket{le="+Inf"} 8
            x_seconds_sum 0.001016001
            x_seconds_count 8

            """)
        #expect(h.count == 8)
    }
}
