// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig

/// `ingest.reorder_window`, `ingest.max_future`, `ingest.max_past` and
/// `limits.sensor_idle_timeout`: durations with a unit, 0 for off, problems with line and column.
@Suite("Ingest timestamp and eviction keys")
struct IngestPolicyConfigTests {
    @Test func defaults() {
        let c = VigilConfiguration()
        #expect(c.ingest.reorderWindow == .seconds(300))
        #expect(c.ingest.maxFuture == .seconds(3600))
        #expect(c.ingest.maxPast == .zero)
        #expect(c.limits.sensorIdleTimeout == .seconds(7 * 86_400))
    }

    @Test func readsEveryKey() throws {
        let c = try parse("""
            ingest:
              reorder_window: 90s
              max_future: 0
              max_past: 30d
            limits:
              max_sensors: 500
              sensor_idle_timeout: 12h
            """)
        #expect(c.ingest.reorderWindow == .seconds(90))
        #expect(c.ingest.maxFuture == .zero)
        #expect(c.ingest.maxPast == .seconds(30 * 86_400))
        #expect(c.limits.maxSensors == 500)
        #expect(c.limits.sensorIdleTimeout == .seconds(12 * 3600))
        #expect(c.renderSummary().contains("reorder_window 90s, max_future 0, max_past 30d"))
        #expect(c.renderSummary().contains("max_sensors 500, sensor_idle_timeout 12h"))
    }

    @Test(arguments: [
        ("ingest:\n  reorder_window: 5", "ingest.reorder_window", 2, 19, "expected a duration such as 30d, 12h, 15m or 90s, or 0, got 5 (add a unit: s, m, h or d)"),
        ("ingest:\n  max_future: soon", "ingest.max_future", 2, 15, #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "soon""#),
        ("ingest:\n  max_past: -1h", "ingest.max_past", 2, 13, #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "-1h""#),
        ("ingest:\n  max_future: 1.5h", "ingest.max_future", 2, 15, #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "1.5h""#),
        ("ingest:\n  max_future: [1h]", "ingest.max_future", 2, 15, "expected a duration such as 30d, 12h, 15m or 90s, or 0, got a list"),
        ("limits:\n  sensor_idle_timeout: 40000d", "limits.sensor_idle_timeout", 2, 24, #"expected at most 100 years, got "40000d""#),
        ("limits:\n  sensor_idle_timout: 1d", "limits.sensor_idle_timout", 2, 3, #"unknown key, did you mean "sensor_idle_timeout"?"#),
        ("limits:\n  max_sensors: 4294967295", "limits.max_sensors", 2, 16, "expected an integer between 1 and 2147483647, got 4294967295"),
    ])
    func badValues(_ yaml: String, _ path: String, _ line: Int, _ column: Int, _ message: String) throws {
        let p = problems(yaml, file: "vigil.yaml")
        let problem = try #require(p.first)
        #expect(p.count == 1)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
        #expect((problem.line, problem.column) == (line, column))
        #expect(problem.description.hasPrefix("vigil.yaml:\(line):\(column): \(path): "))
    }
}
