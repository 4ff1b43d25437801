// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import Testing
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

let scale: Int = {
    if let s = getenv("VIGIL_LONG_TESTS"), let v = Int(String(cString: s)), v > 0 { return v }
    return 1
}()

/// Settings that raise on every sample above 100 (threshold on |z| against a flat baseline).
let spikySettings: SettingsResolver = { _ in
    DetectorSettings(zscore: .init(ZScoreSettings(window: 16, warmup: 8, minDeviation: 1),
                                   alerts: AlertPolicy(threshold: 50, criticalThreshold: 80, raiseAfter: 1, clearAfter: 1)),
                     combine: nil, surprise: nil)
}

@Suite("Pipeline", .serialized)
struct PipelineTests {
    func makePipeline(workers: Int, ring: Int = 1024, overflow: OverflowPolicy = .block,
                      settings: @escaping SettingsResolver = spikySettings) -> Pipeline {
        Pipeline(configuration: PipelineConfiguration(workers: workers, ringCapacity: ring, overflow: overflow, alertRingCapacity: 64),
                 registry: SensorRegistry(limit: 10_000), drops: DropCounters(), settings: settings)
    }

    /// Drains alerts until the workers stop; returns them in the order received.
    func drainAll(_ p: Pipeline) -> [AlertEvent] {
        var alerts: [AlertEvent] = []
        while true {
            let done = !p.isRunning
            let n = p.drainAlerts { alerts.append($0) }
            if n == 0 && done { return alerts }
            if n == 0 { usleep(100) }
        }
    }

    @Test("every sample is processed once across workers; per-sensor order is kept (small rings force backpressure)",
          arguments: [1, 2, 3])
    func noLoss(workers: Int) {
        let p = makePipeline(workers: workers, ring: 1024)
        let sensors = 64
        let names = (0..<sensors).map { "s\($0)" }
        let ids = names.map { p.registry.intern($0)! }
        p.start()
        let perSensor = 20_000 * scale / sensors * 8
        // A spike on every sensor every 1000 samples: each gives a raise then a clear, in order.
        // The publisher side on its own thread, as in the daemon.
        let collected = Mutex<[AlertEvent]>([])
        let consumer = StageThread(name: "test-publisher") { [self] in
            let all = drainAll(p)
            collected.withLock { $0 = all }
        }
        var batch: [Sample] = []
        batch.reserveCapacity(512)
        for i in 0..<perSensor {
            for (k, id) in ids.enumerated() {
                let spike = i % 1000 == 999
                batch.append(Sample(sensor: id, timestamp: Int64(i), value: spike ? 1_000 : Double((i + k) % 3)))
                if batch.count == 512 { p.submit(batch); batch.removeAll(keepingCapacity: true) }
            }
        }
        p.submit(batch)
        p.finishIngest()
        p.join()
        consumer.join()
        let alerts = collected.withLock { $0 }
        #expect(p.samplesSubmitted == UInt64(perSensor * sensors))
        #expect(p.samplesProcessed == UInt64(perSensor * sensors))
        #expect(p.drops.totalMessages == 0)
        let spikes = perSensor / 1000
        #expect(alerts.count == sensors * spikes * 2, "one raise and one clear per spike, none lost")
        for id in ids {
            let mine = alerts.filter { $0.sensor == id }
            #expect(mine.map(\.timestamp) == mine.map(\.timestamp).sorted(), "in order per sensor")
            #expect(mine.map(\.event) == Array(repeating: [AlertEventKind.raised, .cleared], count: spikes).flatMap { $0 })
        }
    }

    @Test("the drop policy counts what does not fit and keeps the rest")
    func dropPolicy() {
        let p = makePipeline(workers: 1, ring: 1024, overflow: .drop)
        let id = p.registry.intern("s")!
        // Not started: nothing is consumed, so the ring fills.
        let samples = (0..<3000).map { Sample(sensor: id, timestamp: Int64($0), value: 0) }
        #expect(p.submit(samples) == 1024)
        #expect(p.drops.samples(.queueFull) == 3000 - 1024)
        p.start()
        p.finishIngest()
        p.join()
        #expect(p.samplesProcessed == 1024)
    }

    @Test("a reload changes detector settings; unchanged sensors keep their state")
    func reload() {
        let p = makePipeline(workers: 1, settings: spikySettings)
        let a = p.registry.intern("a")!
        let b = p.registry.intern("b")!
        p.start()
        p.submit((0..<20).flatMap { i in [Sample(sensor: a, timestamp: Int64(i), value: 0), Sample(sensor: b, timestamp: Int64(i), value: 0)] })
        while p.samplesProcessed < 40 { usleep(100) }
        // New settings: sensor "a" is off; "b" unchanged (keeps its warmed-up window).
        p.reload { name in name == "a" ? DetectorSettings(zscore: nil, combine: nil, surprise: nil) : spikySettings(name) }
        usleep(20_000)
        p.submit([Sample(sensor: a, timestamp: 100, value: 1_000), Sample(sensor: b, timestamp: 100, value: 1_000)])
        p.finishIngest()
        p.join()
        var alerts: [AlertEvent] = []
        p.drainAlerts { alerts.append($0) }
        #expect(alerts.map(\.sensor) == [b], "b alerts at once (still warm); a no longer runs z-score")
    }
}

@Suite("Pipeline with assets")
struct PipelineAssetTests {
    @Test("an asset's sensors share one worker and its multivariate alerts name the asset")
    func assets() {
        let forest = IsolationForestConfiguration(trees: 50, sampleSize: 128, trainingWindow: 256, retrainEvery: 256,
                                                  features: .asset, seed: 3)
        let settings: SettingsResolver = { name in
            DetectorSettings(zscore: nil,
                             isolationForest: name.hasPrefix("pump/") ? .init(forest, alerts: AlertPolicy(threshold: 0.6, criticalThreshold: 0.7)) : nil,
                             combine: nil, surprise: nil)
        }
        let p = Pipeline(configuration: PipelineConfiguration(workers: 3, ringCapacity: 1024),
                         registry: SensorRegistry(limit: 100), drops: DropCounters(), settings: settings,
                         assetOf: { $0.hasPrefix("pump/") ? "pump" : nil })
        let a = p.registry.intern("pump/a")!
        let b = p.registry.intern("pump/b")!
        let other = p.registry.intern("other")!
        p.start()
        var samples: [Sample] = []
        var state: UInt64 = 7
        for i in 0..<900 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let x = Double(state >> 11) / Double(1 << 53)
            let y = i < 700 ? x : 1 - x  // the relation breaks at 700
            samples += [Sample(sensor: a, timestamp: Int64(i), value: x), Sample(sensor: b, timestamp: Int64(i), value: y),
                        Sample(sensor: other, timestamp: Int64(i), value: 0)]
            if i == 699 {
                // Let the background trainer build the forest before the relation breaks: wait
                // until the worker has seen every normal round and the trainer is idle.
                p.submit(samples)
                samples.removeAll()
                while p.samplesProcessed < 2100 { usleep(1000) }
                IsolationForestTrainer.shared.waitUntilIdle()
            }
        }
        p.submit(samples)
        p.finishIngest()
        p.join()
        var alerts: [AlertEvent] = []
        p.drainAlerts(maximum: 10_000) { alerts.append($0) }
        let asset = p.registry.index(of: "pump")
        #expect(asset != nil, "the asset is registered under its name")
        #expect(p.assets.membership(of: a)?.asset == asset && p.assets.membership(of: b)?.asset == asset)
        #expect(p.assets.membership(of: other) == nil)
        #expect(p.assets.member(of: asset!, at: 1) == b)
        #expect(alerts.contains { $0.sensor == asset && $0.event == .raised && $0.timestamp >= 700 })
        #expect(!alerts.contains { $0.timestamp < 700 })
        #expect(p.samplesProcessed == 2700)
    }

    @Test("an alert carries its sample's arrival time, and wakes a publisher sleeping on waitForAlerts")
    func arrivalAndWakeUp() throws {
        let p = Pipeline(configuration: PipelineConfiguration(workers: 2, ringCapacity: 1024, alertRingCapacity: 64),
                         registry: SensorRegistry(limit: 100), drops: DropCounters(), settings: spikySettings)
        let id = p.registry.intern("s")!
        p.start()
        let woke = Mutex<(Double, [AlertEvent])>((0, []))
        let publisher = StageThread(name: "test-publisher") {
            var alerts: [AlertEvent] = []
            let start = SystemTime.monotonicNanoseconds()
            // Sleeps far longer than the test takes unless a worker's alert rings the bell.
            while alerts.isEmpty {
                p.waitForAlerts(timeoutMilliseconds: 60_000)
                p.drainAlerts { alerts.append($0) }
            }
            let waited = Double(SystemTime.monotonicNanoseconds() - start) / 1e9
            woke.withLock { $0 = (waited, alerts) }
        }
        usleep(100_000)  // let the publisher fall asleep
        let now = SystemTime.monotonicNanoseconds()
        let arrival = ArrivalStamp.stamp(monotonicNanoseconds: now)
        p.submit((0..<20).map { Sample(sensor: id, timestamp: Int64($0), value: $0 == 19 ? 1_000 : 1, arrival: arrival) })
        publisher.join()
        p.finishIngest()
        p.join()
        let (waited, alerts) = woke.withLock { $0 }
        #expect(waited < 30, "woken by the alert, not by the 60 s timeout (waited \(waited) s)")
        let raised = try #require(alerts.first)
        #expect(raised.event == .raised && raised.timestamp == 19)
        let error = raised.ingestedAt > now ? raised.ingestedAt - now : now - raised.ingestedAt
        #expect(error < 512, "ingestedAt \(raised.ingestedAt) is the stamped arrival \(now)")
    }
}
