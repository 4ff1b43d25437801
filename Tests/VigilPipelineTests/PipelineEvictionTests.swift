// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import Testing
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Raise on the first sample far from a flat baseline; clear after three calm samples.
private let evictionSettings: SettingsResolver = { _ in
    DetectorSettings(zscore: .init(ZScoreSettings(window: 16, warmup: 8, minDeviation: 1),
                                   alerts: AlertPolicy(threshold: 50, criticalThreshold: 80, raiseAfter: 1, clearAfter: 3)),
                     combine: nil)
}

/// Evicting a sensor: ingest retires it, its worker frees the state, the slot is reused only
/// after the worker answered and the publisher drained the sensor's alerts.
@Suite("Pipeline eviction", .serialized)
struct PipelineEvictionTests {
    func makePipeline(workers: Int, registry: SensorRegistry = SensorRegistry(limit: 100),
                      assetOf: (@Sendable (String) -> String?)? = nil) -> Pipeline {
        Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: 1024, alertRingCapacity: 256),
                 registry: registry, drops: DropCounters(), settings: evictionSettings, assetOf: assetOf)
    }

    func calm(_ id: UInt32, _ range: Range<Int>) -> [Sample] {
        range.map { Sample(sensor: id, timestamp: Int64($0), value: Double($0 % 3)) }
    }

    /// Calls `reclaimRetired` until `count` slots were released or 5 s passed.
    func reclaim(_ p: Pipeline, expecting count: Int, drain: ((AlertEvent) -> Void)? = nil) -> [UInt32] {
        var released: [UInt32] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while released.count < count && ContinuousClock.now < deadline {
            if let drain { p.drainAlerts(drain) }
            p.reclaimRetired { released.append($0) }
            usleep(1000)
        }
        return released
    }

    @Test("a retired sensor's state is freed, its slot reused by a new sensor that starts fresh", arguments: [1, 2])
    func retireFreesAndReuses(workers: Int) throws {
        let p = makePipeline(workers: workers)
        let a = p.registry.intern("a")!
        let b = p.registry.intern("b")!
        p.start()
        p.submit(calm(a, 0..<50) + calm(b, 0..<50))
        #expect(p.retire(a))
        #expect(!p.retire(a), "already retiring")
        #expect(p.registry.index(of: "a") == nil && p.registry.liveCount == 1)
        #expect(p.retirementsInFlight == 1)
        let released = reclaim(p, expecting: 1) { _ in }
        #expect(released == [a])
        #expect(p.sensorsEvicted == 1 && p.retirementsInFlight == 0)
        // Every sample queued for the retired sensor's worker before the retirement was processed
        // first: with one worker all 100; with two, a's 50 (b's worker may still be catching up).
        #expect(p.samplesProcessed >= (workers == 1 ? 100 : 50))
        // The slot goes to the next new sensor, which has no state: it warms up again (a spike
        // during its warm-up raises nothing), while b, warm, raises at once.
        let c = p.registry.intern("c")!
        #expect(c == a)
        var alerts: [AlertEvent] = []
        p.submit(calm(c, 50..<53) + [Sample(sensor: c, timestamp: 53, value: 1_000), Sample(sensor: b, timestamp: 50, value: 1_000)])
        p.finishIngest()
        p.join()
        p.drainAlerts { alerts.append($0) }
        #expect(alerts.map(\.sensor) == [b], "c is a fresh sensor, not a's warm state")
        // The snapshot keeps b and c, not a.
        let snapshot = try DetectorSnapshot(decoding: p.snapshot())
        #expect(Set(snapshot.names) == ["b", "c"])
        #expect(Set(snapshot.sensors.map(\.name)) == ["b", "c"])
    }

    @Test("the slot of a sensor with undrained alerts is not released until the publisher drained them")
    func waitsForThePublisher() {
        let p = makePipeline(workers: 1)
        let a = p.registry.intern("a")!
        p.start()
        p.submit(calm(a, 0..<20) + [Sample(sensor: a, timestamp: 20, value: 1_000)])
        #expect(p.retire(a))
        // The worker answers, but the raise it emitted is still in its ring.
        let deadline = ContinuousClock.now + .seconds(5)
        while p.samplesProcessed < 21 && ContinuousClock.now < deadline { usleep(1000) }
        usleep(50_000)
        #expect(p.reclaimRetired() == 0)
        #expect(p.retirementsInFlight == 1)
        var names: [String] = []
        let released = reclaim(p, expecting: 1) { names.append(p.registry.name(of: $0.sensor)) }
        #expect(released == [a])
        #expect(names == ["a"], "the publisher read the old name before the slot was freed")
        p.finishIngest()
        p.join()
    }

    @Test("a sensor with a raised alert is not evicted until the alert clears")
    func raisedIsKept() {
        let p = makePipeline(workers: 2)
        let a = p.registry.intern("a")!
        p.start()
        p.submit(calm(a, 0..<20) + [Sample(sensor: a, timestamp: 20, value: 1_000)])
        let deadline = ContinuousClock.now + .seconds(5)
        while p.samplesProcessed < 21 && ContinuousClock.now < deadline { usleep(1000) }
        #expect(!p.isEvictable(a) && !p.retire(a), "raised: an eviction would orphan the alert")
        p.submit(calm(a, 21..<30))
        while p.samplesProcessed < 30 && ContinuousClock.now < deadline { usleep(1000) }
        var events: [AlertEventKind] = []
        p.drainAlerts { events.append($0.event) }
        #expect(events == [.raised, .cleared])
        #expect(p.isEvictable(a) && p.retire(a))
        p.finishIngest()
        p.join()
    }

    @Test("asset sensors and assets are never evicted; unknown and retired indices are refused")
    func pinned() {
        let p = makePipeline(workers: 2, assetOf: { $0.hasPrefix("pump/") ? "pump" : nil })
        let m = p.registry.intern("pump/a")!
        let other = p.registry.intern("other")!
        p.start()
        p.submit(calm(m, 0..<5) + calm(other, 0..<5))
        let asset = p.registry.index(of: "pump")!
        #expect(!p.isEvictable(m) && !p.isEvictable(asset))
        #expect(!p.retire(m) && !p.retire(asset))
        #expect(!p.retire(999))
        #expect(p.isEvictable(other))
        #expect(p.retire(other))
        #expect(reclaim(p, expecting: 1) { _ in } == [other])
        // A reused index that now names an asset member is pinned.
        let m2 = p.registry.intern("pump/b")!
        #expect(m2 == other)
        p.submit(calm(m2, 0..<5))
        #expect(!p.isEvictable(m2))
        p.finishIngest()
        p.join()
    }

    @Test("retirements on a stopping pipeline are applied before the workers exit")
    func appliedAtShutdown() throws {
        let p = makePipeline(workers: 2)
        let ids = (0..<10).map { p.registry.intern("s\($0)")! }
        p.start()
        for id in ids { p.submit(calm(id, 0..<30)) }
        for id in ids.prefix(5) { #expect(p.retire(id)) }
        p.finishIngest()
        p.join()
        let snapshot = try DetectorSnapshot(decoding: p.snapshot())
        #expect(Set(snapshot.sensors.map(\.name)) == Set((5..<10).map { "s\($0)" }))
        #expect(p.samplesProcessed == 300)
    }

    @Test("a snapshot keeps only names with detector state, and members of an asset in member order")
    func snapshotNames() throws {
        let registry = SensorRegistry(limit: 100)
        let p = makePipeline(workers: 2, registry: registry, assetOf: { $0.hasPrefix("pump/") ? "pump" : nil })
        // Interned but never sent a sample: no state, not in the snapshot.
        _ = registry.intern("ghost")
        let b = registry.intern("pump/b")!
        let x = registry.intern("x")!
        p.start()
        p.submit(calm(b, 0..<5) + calm(x, 0..<5))
        p.finishIngest()
        p.join()
        let snapshot = try DetectorSnapshot(decoding: p.snapshot())
        #expect(snapshot.names == ["pump/b", "x"])
    }
}
