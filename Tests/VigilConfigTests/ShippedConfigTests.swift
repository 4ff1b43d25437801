// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
@testable import VigilConfig

/// `Configs/vigil.yaml` of this repository.
private let shippedPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Configs/vigil.yaml").path

@Suite("Shipped Configs/vigil.yaml")
struct ShippedConfigTests {
    @Test func isValidAndEqualToTheBuiltInDefaults() throws {
        let c = try VigilConfiguration.load(path: shippedPath)
        // The file spells out the defaults; nothing in it differs from them.
        #expect(c == VigilConfiguration())
        #expect(c.ingest.endpoints == ["tcp://127.0.0.1:7001"])
        #expect(c.publish.endpoint == "tcp://127.0.0.1:7002")
        #expect(c.history.endpoint == "tcp://127.0.0.1:7003")
        #expect(c.metrics.listen?.description == "127.0.0.1:9464")
    }

    @Test func listsEveryKey() throws {
        let text = try String(contentsOfFile: shippedPath, encoding: .utf8)
        let keys = try VigilConfiguration.parseRecordingKeys(yaml: text, file: shippedPath).keyPaths
        let missing = ConfigKeys.defaultKeyPaths.filter { !keys.contains($0) }
        #expect(missing.isEmpty, "keys the shipped config does not list: \(missing)")
    }

    /// Every example commented out in the file (`#   ` lines after `Example:` or `Each entry:`)
    /// is valid where it stands.
    @Test(arguments: [("ingest", "subscribe"), (nil, "sensors"), (nil, "assets")])
    func commentedExamplesAreValid(_ parent: String?, _ key: String) throws {
        let lines = try String(contentsOfFile: shippedPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let indent = parent == nil ? "" : "  "
        let keyLine = try #require(lines.firstIndex { $0.hasPrefix("\(indent)\(key): ") })
        let marker = try #require(lines[..<keyLine].lastIndex { $0.hasSuffix("Example:") || $0.hasSuffix("Each entry:") })
        let example = lines[(marker + 1)..<keyLine]
            .filter { $0.hasPrefix("\(indent)#   ") }
            .map { indent + "  " + $0.dropFirst(indent.count + 4) }
        #expect(!example.isEmpty)
        var yaml = parent.map { "\($0):\n" } ?? ""
        yaml += "\(indent)\(key):\n" + example.joined(separator: "\n") + "\n"
        let c = try parse(yaml)
        switch key {
        case "subscribe": #expect(c.ingest.subscribe == [.init(endpoint: "tcp://10.0.0.5:5556", mode: .connect, topics: ["plant1/"])])
        case "sensors": #expect(c.sensors.count == 1)
        default: #expect(c.asset(ofSensor: "plant1/pump7/vibration") == "plant1/pump7")
        }
    }

    @Test func summaryOfTheDefaults() throws {
        let summary = try VigilConfiguration.load(path: shippedPath).renderSummary()
        #expect(summary == """
            ingest                       pull tcp://127.0.0.1:7001
            ingest                       max_message_bytes 16777216, receive_hwm 10000, drain_timeout 5s
            ingest                       reorder_window 5m, max_future 1h, max_past 0
            publish                      tcp://127.0.0.1:7002, send_hwm 100000
            history                      tcp://127.0.0.1:7003, max_reply 10000, max_request_bytes 4096
            metrics                      http://127.0.0.1:9464/metrics
            state                        ./state, journal_retention 30d, checkpoint_interval 1m
            pipeline                     workers auto, ring_capacity 65536, overflow block
            limits                       max_sensors 100000, sensor_idle_timeout 7d
            logging                      level info
            detectors.surprise           on: threshold 4, critical 7, raise_after 1, clear_after 20, clear_ratio 1, relearn_after 300, warmup 150, horizon 8640, change true, level true, range true, recent_range true, seasonal true
            detectors.zscore             off
            detectors.spectral_residual  off
            detectors.isolation_forest   off
            detectors.alerts             raise_after 3, clear_after 10, clear_ratio 0.75
            detectors.calibration        history 2000, short_window 10, warmup 200
            detectors.combine            off
            detectors.pca                on: threshold 1, critical 3, raise_after 6, clear_after 20, clear_ratio 1, components auto, lags 2, warmup 1000, limits empirical, alpha 0.01, t2_factor 3, smoothing 0.4, forgetting 0.999, update_every 1000, relearn_after 0
            detectors.seasonal           off
            grouping                     rule parent, min_members 2, member_alerts while_learning
            """)
    }

    @Test func summaryShowsOverridesAndAssets() throws {
        let c = try parse(SensorResolutionTests.example + "\nmetrics: {listen: off}\n")
        let summary = c.renderSummary()
        #expect(summary.contains(#"sensors[0]                   "plant1/*/vibration": zscore.threshold: 6, spectral_residual.enabled: true"#))
        #expect(summary.contains(#"assets[0]                    plant1/pump7 = "plant1/pump7/*": isolation_forest.enabled: true"#))
        #expect(summary.contains("metrics                      off"))
    }
}
