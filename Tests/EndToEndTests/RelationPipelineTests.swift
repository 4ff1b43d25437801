// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilPipeline
import VigilReplay
import VigilTestKit

/// A relation's residual runs on the worker that owns its asset exactly as `vigil eval` runs it,
/// survives a restart, and its alerts name the relation and the terms that moved.
@Suite("Relations: eval and the daemon's worker agree", .serialized)
struct RelationPipelineTests {
    /// Three days of the tank, the leak from the start of day 3.
    static let fixture: Fixture = {
        let out = SignalGenerator.tank(rows: 3 * 8640, leakRow: 2 * 8640)
        return try! WideCSVReader().read(bytes: Array(out.wideCSV(decimals: [4, 3, 3]).utf8), name: "tank9.csv")
    }()

    static let configuration = try! VigilConfiguration.load(path: packageRoot.appendingPathComponent("Configs/eval/tank.yaml").path)

    static func pipeline(workers: Int) -> Pipeline {
        let c = configuration
        return Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: 1 << 16, alertRingCapacity: 4096),
                        registry: SensorRegistry(limit: 100), drops: DropCounters(),
                        settings: { c.detectorSettings(forSensor: $0) }, assetOf: { c.asset(ofSensor: $0) },
                        pcaSettings: { c.pcaSettings(forAsset: $0) }, relations: { c.relations(forAsset: $0) })
    }

    static func run(_ p: Pipeline, rows: Range<Int>) -> [AlertEvent] {
        let f = fixture
        let ids = f.sensors.map { p.registry.intern($0)! }
        p.start()
        var samples: [Sample] = []
        for row in rows {
            for k in ids.indices { samples.append(Sample(sensor: ids[k], timestamp: f.timestamps[row], value: f.values[k][row])) }
        }
        p.submit(samples)
        p.finishIngest()
        p.join()
        var out: [AlertEvent] = []
        p.drainAlerts(maximum: 100_000) { out.append($0) }
        return out
    }

    static func key(_ e: AlertEvent) -> String {
        "\(e.event) \(e.severity) \(e.detector) \(e.timestamp) \(e.raisedAt) \(e.score) \(e.relation.map { "\($0)" } ?? "-")"
    }

    @Test func theWorkerRaisesWhatEvalRaisesAndTheRecordNamesTheTerms() throws {
        let evaluated = Evaluator(configuration: Self.configuration).run(Self.fixture).alerts.map(\.event).filter { $0.relation != nil || $0.sensor == 4 }
        #expect(evaluated.contains { $0.event == AlertEventKind.raised })
        let p = Self.pipeline(workers: 2)
        let live = Self.run(p, rows: 0..<Self.fixture.rowCount)
        let balance = try #require(p.registry.index(of: "tank9/balance"))
        let published = live.filter { $0.sensor == balance }
        #expect(published.map(Self.key) == evaluated.map(Self.key))
        // The publisher's record: topic alert/<asset>/<relation>, the terms by their text.
        let raised = try #require(published.first { $0.event == .raised })
        let record = AlertRecord(seq: 1, event: raised, sensorName: p.registry.name(of: raised.sensor),
                                 termName: { p.assets.relationTerm(of: raised.sensor, at: $0) })
        #expect(record.topic == "alert/tank9/balance")
        let terms = try #require(record.context["relation"]?.object?["terms"]?.list)
        #expect(Set(terms.compactMap { $0.object?["term"]?.string }) == ["inflow", "-outflow", "-3600*area*der(level)"])
        #expect(record.json.contains(#""relation":{"expected":"#))
    }

    /// Stopped after two days and restored into a new pipeline, the relation continues exactly:
    /// the leak raises the same alert as in an uninterrupted run.
    @Test func aRestoredRelationContinuesExactly() throws {
        let cut = 2 * 8640 - 500
        let whole = Self.run(Self.pipeline(workers: 1), rows: 0..<Self.fixture.rowCount)
        let first = Self.pipeline(workers: 1)
        let before = Self.run(first, rows: 0..<cut)
        let snapshot = first.snapshot()
        let second = Self.pipeline(workers: 2)
        let summary = try second.restore(snapshot)
        #expect(summary.assetsRestored >= 1 && summary.assetsSkipped == 0, "\(summary)")
        let after = Self.run(second, rows: cut..<Self.fixture.rowCount)
        func relationEvents(_ events: [AlertEvent]) -> [String] { events.filter { $0.relation != nil || $0.detector == .zscore }.map(Self.key) }
        #expect(!relationEvents(after).isEmpty)
        #expect(relationEvents(before) + relationEvents(after) == relationEvents(whole))
    }

    /// At a restart without a checkpoint, a relation alert the journal shows raised is closed
    /// (its residual's state is gone); with the checkpoint that holds it, it is kept.
    @Test func reconcilingARelationAlert() throws {
        let p = Self.pipeline(workers: 1)
        let events = Self.run(p, rows: 0..<Self.fixture.rowCount)
        let raised = try #require(events.first { $0.event == .raised && $0.relation != nil })
        let journaled = JournaledAlert(seq: 7, id: raised.id(sensorName: "tank9/balance"), event: .raised, severity: raised.severity,
                                       sensor: "tank9/balance", detector: raised.detector, ts: raised.timestamp, raisedAt: raised.raisedAt)
        // Fresh (no checkpoint): closed with reason restart, and the name does not become a sensor.
        let fresh = Self.pipeline(workers: 1)
        let closed = fresh.reconcile(with: [journaled])
        #expect(closed.closed.map(\.sensorName) == ["tank9/balance"] && closed.freshChains == 0, "\(closed)")
        #expect(closed.closed.first?.event.evidence == .closed(reason: .restart))
        #expect(fresh.registry.index(of: "tank9/balance") == nil)
        // Restored from the run that raised it: the monitor holds it.
        let kept = Self.pipeline(workers: 1)
        try kept.restore(p.snapshot())
        let summary = kept.reconcile(with: [journaled])
        #expect(summary.closed.isEmpty && summary.unchanged == 1, "\(summary)")
    }
}
