// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Raise on the first sample far from a flat baseline; clear after five calm samples.
private let restartSettings: SettingsResolver = { _ in
    DetectorSettings(zscore: .init(ZScoreSettings(window: 16, warmup: 8, minDeviation: 1),
                                   alerts: AlertPolicy(threshold: 50, criticalThreshold: 80, raiseAfter: 1, clearAfter: 5)),
                     combine: nil, surprise: nil)
}

@Suite("Pipeline snapshot and restore", .serialized)
struct PipelineSnapshotTests {
    func makePipeline(workers: Int, settings: @escaping SettingsResolver = restartSettings,
                      assetOf: (@Sendable (String) -> String?)? = nil) -> Pipeline {
        Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: 1024, alertRingCapacity: 256),
                 registry: SensorRegistry(limit: 1000), drops: DropCounters(), settings: settings, assetOf: assetOf)
    }

    /// Submits `samples` (by sensor name), stops the pipeline and returns its alerts.
    func runToEnd(_ p: Pipeline, _ samples: [(String, Int64, Double)]) -> [AlertEvent] {
        p.start()
        let batch = samples.map { Sample(sensor: p.registry.intern($0.0)!, timestamp: $0.1, value: $0.2) }
        p.submit(batch)
        p.finishIngest()
        p.join()
        var alerts: [AlertEvent] = []
        p.drainAlerts(maximum: 10_000) { alerts.append($0) }
        return alerts
    }

    func calm(_ sensors: [String], _ range: Range<Int>) -> [(String, Int64, Double)] {
        range.flatMap { i in sensors.map { ($0, Int64(i), Double(i % 3)) } }
    }

    @Test("an alert raised before a restart is cleared after it with the same raisedAt, whatever the worker count",
          arguments: [(2, 3), (3, 1), (1, 2)])
    func alertSurvivesRestart(before: Int, after: Int) throws {
        let sensors = (0..<6).map { "pump/\($0)" }
        let first = makePipeline(workers: before)
        var samples = calm(sensors, 0..<100)
        samples.append(("pump/4", 100, 1_000))
        let raisedBefore = runToEnd(first, samples)
        #expect(raisedBefore.count == 1 && raisedBefore.first?.event == .raised)
        let bytes = first.snapshot()
        #expect(first.snapshotSensorCount == sensors.count)

        let second = makePipeline(workers: after)
        let summary = try second.restore(bytes)
        #expect(summary.sensorsRestored == sensors.count && summary.sensorsSkipped == 0)
        for s in sensors { #expect(second.registry.index(of: s) == first.registry.index(of: s), "indices come back") }
        let alerts = runToEnd(second, calm(sensors, 101..<110))
        let cleared = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(cleared.event == .cleared && cleared.raisedAt == 100 && cleared.sensor == first.registry.index(of: "pump/4"))

        // Without the snapshot, nothing is raised, so nothing clears.
        let fresh = makePipeline(workers: after)
        #expect(runToEnd(fresh, calm(sensors, 101..<110)).isEmpty)
    }

    @Test("warmed-up state survives: a spike right after a restart raises without a new warm-up, and across two restarts")
    func warmStateSurvives() throws {
        let first = makePipeline(workers: 2)
        _ = runToEnd(first, calm(["a", "b"], 0..<50))
        let second = makePipeline(workers: 2)
        try second.restore(first.snapshot())
        _ = runToEnd(second, [])  // a restart during which "a" and "b" report nothing
        let third = makePipeline(workers: 2)
        #expect(try third.restore(second.snapshot()).sensorsRestored == 2)
        let alerts = runToEnd(third, [("a", 50, 1_000)])
        #expect(alerts.map(\.event) == [.raised])
    }

    @Test("sensors whose settings changed start fresh and are counted")
    func changedSettingsSkipped() throws {
        let first = makePipeline(workers: 2)
        _ = runToEnd(first, calm(["keep", "change"], 0..<50))
        let changed: SettingsResolver = { name in
            var s = restartSettings(name)
            if name == "change" { s.zscore!.configuration.window = 32 }
            return s
        }
        let second = makePipeline(workers: 2, settings: changed)
        let summary = try second.restore(first.snapshot())
        #expect(summary.sensorsRestored == 1 && summary.sensorsSkipped == 1)
        let alerts = runToEnd(second, [("keep", 50, 1_000), ("change", 50, 1_000)])
        #expect(alerts.map { second.registry.name(of: $0.sensor) } == ["keep"], "the changed sensor is warming up again")
    }

    @Test("asset detectors are restored on their members' worker")
    func assetsRestored() throws {
        let forest = IsolationForestConfiguration(trees: 10, sampleSize: 16, trainingWindow: 32, retrainEvery: 32, features: .asset)
        let settings: SettingsResolver = { name in
            var s = restartSettings(name)
            s.isolationForest = .init(forest, alerts: AlertPolicy(threshold: 0.99, criticalThreshold: 1))
            return s
        }
        let assetOf: @Sendable (String) -> String? = { $0.hasPrefix("m/") ? "machine" : nil }
        let first = makePipeline(workers: 2, settings: settings, assetOf: assetOf)
        _ = runToEnd(first, calm(["m/x", "m/y", "other"], 0..<80))
        let snapshot = try DetectorSnapshot(decoding: first.snapshot())
        #expect(snapshot.assets.map(\.name) == ["machine"])
        #expect(snapshot.assets.first?.members == ["m/x", "m/y"])
        let second = makePipeline(workers: 3, settings: settings, assetOf: assetOf)
        let summary = try second.restore(snapshot.encoded())
        #expect(summary.assetsRestored == 1 && summary.sensorsRestored == 3)
        _ = runToEnd(second, calm(["m/x", "m/y"], 80..<90))
        #expect(try DetectorSnapshot(decoding: second.snapshot()).assets.count == 1)
    }

    @Test("a bad snapshot throws and leaves the pipeline to start fresh")
    func badSnapshot() throws {
        let first = makePipeline(workers: 2)
        _ = runToEnd(first, calm(["a"], 0..<50))
        var bytes = first.snapshot()
        bytes[bytes.count / 2] ^= 0xFF
        let second = makePipeline(workers: 2)
        #expect(throws: SnapshotError.self) { try second.restore(bytes) }
        #expect(throws: SnapshotError.self) { try second.restore(Array("not a snapshot".utf8)) }
        #expect(runToEnd(second, [("a", 50, 1_000)]).isEmpty, "warming up afresh")
    }
}
