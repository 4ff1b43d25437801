// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Members that move together (b = 2a + noise, c = −a + noise) until the relation of b breaks.
private func rounds(_ range: Range<Int>, breakAt: Int) -> [(Double, Double, Double)] {
    var rng = Xoshiro256StarStar(seed: 21)
    return range.map { i in
        let a = rng.nextGaussian()
        let b = i < breakAt ? 2 * a + 0.1 * rng.nextGaussian() : -2 * a + 0.1 * rng.nextGaussian()
        return (a, b, -a + 0.1 * rng.nextGaussian())
    }
}

@Suite("Pipeline with PCA assets", .serialized)
struct PipelinePCATests {
    static let pca = DetectorSection(PCAConfiguration(lags: 1, warmup: 200, updateEvery: 50),
                                     alerts: AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 3, clearAfter: 5, clearRatio: 1))

    static func pipeline(workers: Int, pca: DetectorSection<PCAConfiguration>? = PipelinePCATests.pca, minimumMembers: Int = 2) -> Pipeline {
        Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: 4096, alertRingCapacity: 1024,
                                                      minimumAssetMembers: minimumMembers),
                 registry: SensorRegistry(limit: 100), drops: DropCounters(),
                 settings: { _ in DetectorSettings(zscore: nil, combine: nil, surprise: nil) },
                 assetOf: { $0.hasPrefix("rig/") ? "rig" : nil }, pcaSettings: { $0 == "rig" ? pca : nil })
    }

    /// Rounds `range` of one recording of 700 rounds whose relation breaks at `breakAt`.
    static func samples(_ p: Pipeline, _ range: Range<Int>, breakAt: Int) -> [Sample] {
        let ids = ["rig/a", "rig/b", "rig/c"].map { p.registry.intern($0)! }
        let all = rounds(0..<700, breakAt: breakAt)
        return range.map { ($0, all[$0]) }.flatMap { i, r in
            [Sample(sensor: ids[0], timestamp: Int64(i), value: r.0), Sample(sensor: ids[1], timestamp: Int64(i), value: r.1),
             Sample(sensor: ids[2], timestamp: Int64(i), value: r.2)]
        }
    }

    static func finish(_ p: Pipeline) -> [AlertEvent] {
        p.finishIngest()
        p.join()
        var alerts: [AlertEvent] = []
        p.drainAlerts(maximum: 10_000) { alerts.append($0) }
        return alerts
    }

    @Test("the worker runs the asset's PCA monitor; its alerts name the asset and the member that moved")
    func alertsNameTheAsset() throws {
        let p = Self.pipeline(workers: 2)
        p.start()
        p.submit(Self.samples(p, 0..<600, breakAt: 400))
        let alerts = Self.finish(p)
        let rig = try #require(p.registry.index(of: "rig"))
        let raised = try #require(alerts.first { $0.event == .raised })
        #expect(raised.sensor == rig && raised.detector == .pca && raised.timestamp >= 400)
        guard case .pca(let e) = raised.evidence else { Issue.record("expected PCA evidence"); return }
        #expect(p.assets.member(of: rig, at: Int(e.first.position)) == p.registry.index(of: "rig/b"))
        #expect(!alerts.contains { $0.timestamp < 400 })
    }

    @Test("an asset with fewer members than grouping.min_members runs no multivariate detector")
    func minimumMembers() throws {
        let p = Self.pipeline(workers: 1, minimumMembers: 4)
        p.start()
        p.submit(Self.samples(p, 0..<600, breakAt: 400))
        let alerts = Self.finish(p)
        #expect(alerts.isEmpty, "3 members < 4: the relation break is not monitored")
        let q = Self.pipeline(workers: 1, minimumMembers: 3)
        q.start()
        q.submit(Self.samples(q, 0..<600, breakAt: 400))
        #expect(Self.finish(q).contains { $0.detector == .pca }, "3 members = 3: monitored")
    }

    @Test("a restored PCA asset continues exactly: the same alerts as an uninterrupted run")
    func restoreContinues() throws {
        let whole = Self.pipeline(workers: 1)
        whole.start()
        whole.submit(Self.samples(whole, 0..<700, breakAt: 500))
        let reference = Self.finish(whole)
        #expect(!reference.isEmpty)

        let first = Self.pipeline(workers: 2)
        first.start()
        first.submit(Self.samples(first, 0..<450, breakAt: 500))
        _ = Self.finish(first)
        let bytes = first.snapshot()
        #expect(try DetectorSnapshot(decoding: bytes).assets.map(\.name) == ["rig"])
        let second = Self.pipeline(workers: 3)
        let summary = try second.restore(bytes)
        #expect(summary.assetsRestored == 1 && summary.assetsSkipped == 0)
        second.start()
        second.submit(Self.samples(second, 450..<700, breakAt: 500))
        let resumed = Self.finish(second)
        #expect(resumed == reference, "alerts after the restart differ from an uninterrupted run")

        // Other PCA settings: the asset starts fresh.
        let changed = Self.pipeline(workers: 1, pca: DetectorSection(PCAConfiguration(lags: 2, warmup: 200), alerts: Self.pca.alerts))
        #expect(try changed.restore(bytes).assetsSkipped == 1)
        // Another t2_factor too: the snapshot's T² limit holds the old factor.
        var factor = Self.pca
        factor.configuration.t2Factor += 1
        #expect(try Self.pipeline(workers: 1, pca: factor).restore(bytes).assetsSkipped == 1)
    }

    @Test("a reload keeps an asset whose settings did not change and rebuilds one whose PCA section did")
    func reload() throws {
        let reference = Self.pipeline(workers: 1)
        reference.start()
        reference.submit(Self.samples(reference, 0..<700, breakAt: 500))
        let expected = Self.finish(reference)

        func run(reloadingTo pca: DetectorSection<PCAConfiguration>) -> [AlertEvent] {
            let p = Self.pipeline(workers: 2)
            p.start()
            p.submit(Self.samples(p, 0..<300, breakAt: 500))
            while p.samplesProcessed < 900 { usleep(1000) }
            p.reload(settings: { _ in DetectorSettings(zscore: nil, combine: nil, surprise: nil) }, pcaSettings: { $0 == "rig" ? pca : nil })
            usleep(20_000)  // the worker picks the new resolvers up before the next batch
            p.submit(Self.samples(p, 300..<700, breakAt: 500))
            return Self.finish(p)
        }
        #expect(run(reloadingTo: Self.pca) == expected, "unchanged settings: the asset keeps its state")
        var other = Self.pca
        other.configuration.warmup = 250
        let rebuilt = run(reloadingTo: other)
        // Rebuilt at round 300: it learns anew (3 members, 1 lag: its first fit is at 150 rounds)
        // and scores from round 451 on, so nothing it raises comes before that.
        let lags = try #require(PCAMonitor.lags(for: other.configuration, dimension: 3))
        let firstFit = PCAMonitor.firstFit(width: 3 * (lags + 1), capacity: other.configuration.warmup)
        #expect(firstFit == PCAMonitor.minimumFirstFit)
        #expect(rebuilt != expected)
        #expect(rebuilt.allSatisfy { $0.timestamp > 300 + firstFit }, "\(rebuilt.map(\.timestamp))")
    }
}
