// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDetectors

/// A noisy sine of period 50 samples, from a fixed seed.
private func streamingSine(_ count: Int, seed: UInt64 = 1, level: Double = 0) -> [Double] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { level + sin(2 * Double.pi * Double($0) / 50) + 0.05 * rng.nextGaussian() }
}

/// A small, fast configuration for tests.
private func streamingConfiguration(retrainEvery: Int = 256, drift: Double = 1.0, trees: Int = 50,
                                    features: IsolationFeatures = .shingle) -> IsolationForestConfiguration {
    IsolationForestConfiguration(trees: trees, sampleSize: 128, trainingWindow: 512, retrainEvery: retrainEvery,
                                 driftThreshold: drift, extended: false, features: features, shingle: 4, seed: 99)
}

/// Waits (polling, up to 60 s) until `done` holds.
private func streamingWait(_ done: () -> Bool) -> Bool {
    for _ in 0..<6000 {
        if done() { return true }
        usleep(10_000)
    }
    return done()
}

@Suite("StreamingIsolationForest")
struct StreamingIsolationForestTests {
    @Test("warm-up: nil until the first forest, which is trained after retrainEvery vectors")
    func warmUp() {
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(), synchronousTraining: true)
        #expect(detector.kind == .isolationForest && detector.dimension == 4)
        let values = streamingSine(400)
        var firstOutput = -1
        for (i, v) in values.enumerated() {
            if detector.update(timestamp: Int64(i), value: v) != nil, firstOutput < 0 { firstOutput = i }
        }
        // Vectors start at sample 3 (shingle 4); the 256th vector (sample 258) triggers training
        // after being scored, so sample 259 is the first one scored.
        #expect(firstOutput == 259)
        #expect(detector.forestGeneration == 1 && detector.trainingRequests == 1)
    }

    @Test("synchronous mode is deterministic bit for bit, across retrainings")
    func synchronousDeterminism() {
        let values = streamingSine(3000, seed: 4)
        func run() -> [DetectorOutput?] {
            var d = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 300), synchronousTraining: true)
            return values.enumerated().map { d.update(timestamp: Int64($0.offset), value: $0.element) }
        }
        let a = run()
        let b = run()
        #expect(a == b)
        #expect(a.compactMap { $0 }.count > 2500)
    }

    @Test("retrains every retrainEvery vectors when the drift test is off")
    func retrainSchedule() {
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 200), synchronousTraining: true)
        for (i, v) in streamingSine(2003).enumerated() { _ = detector.update(timestamp: Int64(i), value: v) }
        // 2000 vectors → trainings after vectors 200, 400, …, 2000.
        #expect(detector.trainingRequests == 10)
        #expect(detector.forestGeneration == 10)
        #expect(detector.windowCount == 512)
    }

    @Test("a spike scores high and is explained by the newest shingle position")
    func spike() throws {
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(trees: 100), synchronousTraining: true)
        var values = streamingSine(1200, seed: 2)
        values[1000] += 4
        var scores: [Double] = []
        var spikeOutput: DetectorOutput?
        for (i, v) in values.enumerated() {
            let out = detector.update(timestamp: Int64(i), value: v)
            if i == 1000 { spikeOutput = out } else if i > 300 && i < 1000, let out { scores.append(out.score) }
        }
        // Out of range in one of four features only, the spike is not isolated at once (trees that
        // split other features first mask it), but it outscores every ordinary shingle.
        let spike = try #require(spikeOutput)
        let typicalMax = try #require(scores.max())
        #expect(spike.score > typicalMax)
        guard case let .isolationForest(pathLength, feature, featureCount) = spike.evidence else {
            Issue.record("wrong evidence \(spike.evidence)")
            return
        }
        #expect(feature == 3 && featureCount == 4)
        let c = IsolationForest.averagePathLength(128)
        #expect(abs(spike.score - exp2(-pathLength / c)) < 1e-12)
    }

    @Test("an early retraining when the anomaly rate drifts")
    func driftRetrains() {
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 300, drift: 0.3),
                                                synchronousTraining: true, driftEvidence: 64)
        let calm = streamingSine(700, seed: 5)
        for (i, v) in calm.enumerated() { _ = detector.update(timestamp: Int64(i), value: v) }
        #expect(detector.trainingRequests == 2)  // after vectors 300 and 600: no drift while calm
        // A level shift: every new shingle lies outside the window, so the anomaly rate since the
        // last adoption climbs towards 1 and passes the training rate + 0.3 within a few dozen
        // vectors, well before the next scheduled training (202 samples after the shift).
        let shifted = streamingSine(200, seed: 6, level: 8)
        var retrainedAt = -1
        for (i, v) in shifted.enumerated() {
            _ = detector.update(timestamp: Int64(700 + i), value: v)
            if detector.trainingRequests == 3 && retrainedAt < 0 { retrainedAt = i }
        }
        #expect(retrainedAt > 10 && retrainedAt < 190, "retrained \(retrainedAt) samples after the shift")

        // The same shift with the drift test off retrains on schedule only.
        var scheduled = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 300, drift: 1.0),
                                                 synchronousTraining: true, driftEvidence: 64)
        for (i, v) in (calm + shifted).enumerated() { _ = scheduled.update(timestamp: Int64(i), value: v) }
        #expect(scheduled.trainingRequests == 2)
    }

    @Test("caller-supplied vectors (.asset): the deviating sensor explains the alert")
    func assetVectors() throws {
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(trees: 100, features: .asset),
                                                dimension: 3, synchronousTraining: true)
        #expect(detector.update(timestamp: 0, value: 1) == nil)  // no vector from a lone sample
        var rng = Xoshiro256StarStar(seed: 17)
        var typical: [Double] = []
        for i in 0..<600 {
            let base = rng.nextGaussian()
            let v = [base, 2 * base + 0.1 * rng.nextGaussian(), rng.nextGaussian()]
            let out = v.withUnsafeBufferPointer { detector.update(timestamp: Int64(i), vector: $0) }
            if i >= 520, let out { typical.append(out.score) }
        }
        #expect(detector.forestGeneration == 2)
        let bad = [0.1, 0.2, 7.5]
        let out = try #require(bad.withUnsafeBufferPointer { detector.update(timestamp: 600, vector: $0) })
        // Out of range in one sensor of three: above most ordinary vectors (not all: masking).
        #expect(typical.filter { $0 >= out.score }.count < typical.count / 5)
        guard case let .isolationForest(_, feature, featureCount) = out.evidence else {
            Issue.record("wrong evidence \(out.evidence)")
            return
        }
        #expect(feature == 2 && featureCount == 3)
        let nan = [0.0, .nan, 1]
        #expect(nan.withUnsafeBufferPointer { detector.update(timestamp: 601, vector: $0) } == nil)
    }

    /// Background mode trains on the trainer's queue and adopts the forest on a later vector; the
    /// forest is the one synchronous mode builds from the same window, so once adopted the scores
    /// are identical.
    @Test("background training adopts the same forest as synchronous training")
    func backgroundMatchesSynchronous() {
        let trainer = IsolationForestTrainer(label: "vigil.test.iforest")
        let configuration = streamingConfiguration(retrainEvery: 300)
        var background = StreamingIsolationForest(configuration: configuration, trainer: trainer)
        var synchronous = StreamingIsolationForest(configuration: configuration, synchronousTraining: true)
        #expect(!background.isSynchronous && synchronous.isSynchronous)
        let values = streamingSine(600, seed: 8)
        // Vectors 1…300: the 300th requests the first training.
        for i in 0..<303 {
            #expect(background.update(timestamp: Int64(i), value: values[i]) == nil)
            _ = synchronous.update(timestamp: Int64(i), value: values[i])
        }
        #expect(background.trainingRequests == 1 && background.isAwaitingForest)
        #expect(streamingWait { !background.isTrainingInProgress }, "the trainer finished")
        // Vectors 301…599: no further training request (the next is due at vector 600).
        for i in 303..<600 {
            let b = background.update(timestamp: Int64(i), value: values[i])
            let s = synchronous.update(timestamp: Int64(i), value: values[i])
            #expect(b != nil && b == s)
        }
        #expect(background.forestGeneration == 1 && !background.isAwaitingForest)
        trainer.waitUntilIdle()
    }

    @Test("background mode keeps scoring with the old forest while a new one trains")
    func backgroundKeepsScoring() {
        let trainer = IsolationForestTrainer(label: "vigil.test.iforest.busy")
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 256), trainer: trainer)
        let values = streamingSine(20_000, seed: 9)
        var scored = 0
        var i = 0
        // Feed in bursts, letting the trainer catch up between them.
        while i < values.count {
            for _ in 0..<1000 where i < values.count {
                if let out = detector.update(timestamp: Int64(i), value: values[i]) {
                    #expect(out.score > 0 && out.score <= 1)
                    scored += 1
                }
                i += 1
            }
            _ = streamingWait { !detector.isTrainingInProgress }
        }
        #expect(detector.forestGeneration >= 5)
        #expect(scored > 15_000)
        trainer.waitUntilIdle()
    }

    /// Several workers, each owning its detectors, feed without pause while one concurrent trainer
    /// keeps retraining them; run it under `--sanitize=thread` to check the hand-over. Longer with
    /// `VIGIL_LONG_TESTS=1`.
    @Test("workers and a concurrent trainer run side by side")
    func concurrentWorkers() {
        let trainer = IsolationForestTrainer(label: "vigil.test.iforest.concurrent", concurrent: true)
        let long = ProcessInfo.processInfo.environment["VIGIL_LONG_TESTS"] != nil
        let samples = long ? 400_000 : 40_000
        let configuration = IsolationForestConfiguration(trees: 20, sampleSize: 64, trainingWindow: 256, retrainEvery: 128,
                                                         driftThreshold: 0.2, shingle: 4, seed: 5)
        let results = Mutex<[(adopted: UInt64, requested: UInt64, invalid: Int)]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var detectors = (0..<2).map { _ in StreamingIsolationForest(configuration: configuration, trainer: trainer) }
            let values = streamingSine(samples, seed: UInt64(worker))
            var invalid = 0
            for (i, v) in values.enumerated() {
                for k in detectors.indices {
                    if let out = detectors[k].update(timestamp: Int64(i), value: v), !(out.score > 0 && out.score <= 1) {
                        invalid += 1
                    }
                }
            }
            // On a loaded machine the workers can outrun the trainer: keep feeding (the same values
            // again) until each detector has adopted two forests, within a generous deadline, so
            // the check is about the hand-over, not about scheduling.
            let deadline = ContinuousClock.now + .seconds(120)
            var i = values.count
            while detectors.contains(where: { $0.forestGeneration < 2 }) && ContinuousClock.now < deadline {
                for k in detectors.indices {
                    if let out = detectors[k].update(timestamp: Int64(i), value: values[i % values.count]), !(out.score > 0 && out.score <= 1) {
                        invalid += 1
                    }
                }
                i += 1
            }
            for d in detectors {
                results.withLock { $0.append((d.forestGeneration, d.trainingRequests, invalid)) }
            }
        }
        trainer.waitUntilIdle()
        let all = results.withLock { $0 }
        #expect(all.count == 8)
        for r in all {
            #expect(r.invalid == 0)
            #expect(r.adopted >= 2 && r.requested >= r.adopted && r.requested <= r.adopted + 1)
        }
    }

    /// A replaced forest is freed (on the trainer's queue) once the detector has adopted the next.
    @Test("replaced forests are released")
    func replacedForestsAreReleased() {
        let trainer = IsolationForestTrainer(label: "vigil.test.iforest.release")
        var detector = StreamingIsolationForest(configuration: streamingConfiguration(retrainEvery: 200), trainer: trainer)
        let values = streamingSine(1000, seed: 3)
        var i = 0
        func feed(until done: (StreamingIsolationForest) -> Bool) {
            while !done(detector) && i < values.count {
                _ = detector.update(timestamp: Int64(i), value: values[i])
                i += 1
                if detector.isTrainingInProgress { _ = streamingWait { !detector.isTrainingInProgress } }
            }
        }
        feed { $0.forestGeneration == 1 }
        weak let first = detector.model
        #expect(first != nil)
        feed { $0.forestGeneration == 2 }
        trainer.waitUntilIdle()
        #expect(streamingWait { first == nil }, "the first forest was freed")
        #expect(detector.model != nil)
    }
}
