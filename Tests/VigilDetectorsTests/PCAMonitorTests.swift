// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
@testable import VigilDetectors
import VigilTestKit

@Suite("PCA monitor")
struct PCAMonitorTests {
    @Test("diagnostics (prints detection figures)", .enabled(if: ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil))
    func diagnostics() {
        let faults: [LatentFactorPlant.Fault] = [
            .init(.step, rounds: 3000..<3500, sensor: 3, magnitude: 1.5),
            .init(.drift, rounds: 4500..<5100, sensor: 5, magnitude: 4),
            .init(.stuck, rounds: 6000..<6500, sensor: 7),
            .init(.variance, rounds: 7500..<8000, sensor: 9, magnitude: 5),
            .init(.correlationBreak, rounds: 9000..<9500, sensor: 11),
        ]
        let env = ProcessInfo.processInfo.environment
        let variant = env["VIGIL_PCA_PLANT"] ?? "mild"
        var section = PCATestSupport.section()
        if let l = env["VIGIL_PCA_LAGS"].flatMap(Int.init) { section.configuration.lags = l }
        if let b = env["VIGIL_PCA_SMOOTHING"].flatMap(Double.init) { section.configuration.smoothing = b }
        if let a = env["VIGIL_PCA_ALPHA"].flatMap(Double.init) { section.configuration.alpha = a }
        if let f = env["VIGIL_PCA_FORGETTING"].flatMap(Double.init) { section.configuration.forgetting = f }
        if let u = env["VIGIL_PCA_EVERY"].flatMap(Int.init) { section.configuration.updateEvery = u }
        if env["VIGIL_PCA_THEORETICAL"] != nil { section.configuration.limits = .theoretical }
        if let v = env["VIGIL_PCA_VARIANCE"].flatMap(Double.init) { section.configuration.components = .variance(v) }
        for seed in 1...3 as ClosedRange<UInt64> {
            var plant = LatentFactorPlant(sensors: 24, rounds: env["VIGIL_PCA_ROUNDS"].flatMap(Int.init) ?? 11_000,
                                          faults: env["VIGIL_PCA_NOFAULTS"] != nil ? [] : faults, seed: seed)
            switch variant {
            case "harsh": plant.persistence = 0.95...0.995
            case "lownoise": plant.noise = 0.1
            case "highnoise": plant.noise = 0.6
            case "wide": plant.sensors = 40; plant.factors = 8; plant.persistence = 0.8...0.99
            case "iid": plant.persistence = 0...0.01; plant.maximumDelay = 0
            default: break
            }
            let (values, labels) = plant.generate()
            let started = Date()
            let run = PCATestSupport.run(values, section: section)
            let elapsed = Date().timeIntervalSince(started)
            let far = run.falseAlarmShare(labels: labels, from: 1002)
            let shares = faults.map { "\($0.kind.rawValue) \(String(format: "%.3f", run.share($0.rounds)))" }.joined(separator: ", ")
            func meanScore(_ r: Range<Int>) -> String {
                let v = r.compactMap { run.scores[$0] }
                return String(format: "%.2f", v.reduce(0, +) / Double(max(v.count, 1)))
            }
            if env["VIGIL_PCA_ALERTS"] != nil {
                for a in run.alerts where a.event == .raised {
                    if case .pca(let e) = a.evidence {
                        print(String(format: "   raised at %d: T² %.2f Q %.2f (ratios), first %d", a.timestamp, e.t2 / e.t2Limit, e.q / e.qLimit, e.first.position))
                    }
                }
            }
            if env["VIGIL_PCA_WINDOWS"] != nil {
                var line = "   raw T²/lim, Q/lim by 5000 rounds:"
                for w in stride(from: 1000, to: values.count, by: 5000) {
                    let r = w..<min(w + 5000, values.count)
                    let t = r.map { run.rawT2[$0] }.filter { !$0.isNaN }, q = r.map { run.rawQ[$0] }.filter { !$0.isNaN }
                    line += String(format: " [%.3f %.3f]", t.reduce(0, +) / Double(max(t.count, 1)), q.reduce(0, +) / Double(max(q.count, 1)))
                }
                print(line)
            }
            print("   mean score 1500..<3000 \(meanScore(1500..<3000)), step \(meanScore(3000..<3500)), 10000..<11000 \(meanScore(10000..<11000))")
            print("\(variant) seed \(seed): k = \(run.monitor?.components ?? 0), limits T² \(run.monitor?.t2Limit ?? 0) Q \(run.monitor?.qLimit ?? 0), normal flagged \(String(format: "%.3f", far)); \(shares); refreshes \(run.monitor?.refreshes ?? 0); \(String(format: "%.2f", elapsed)) s")
        }
    }
}

extension PCAMonitorTests {
    /// The augmented vectors `[v(t), v(t−1), …]` of rounds `lags…` of `values`.
    static func augmented(_ values: [[Double]], lags: Int) -> [[Double]] {
        (lags..<values.count).map { t in (0...lags).flatMap { values[t - $0] } }
    }

    @Test("T² and Q equal a batch computation on the same data (model, statistics, parts)")
    func batchEquality() throws {
        let plant = LatentFactorPlant(sensors: 8, factors: 3, rounds: 500, seed: 11)
        let values = plant.generate().values
        let lags = 1, n = 300, k = 4
        var section = PCATestSupport.section {
            $0.lags = lags
            $0.warmup = n
            $0.components = .count(k)
            $0.smoothing = 1
            $0.forgetting = 1
            $0.limits = .theoretical
            // A named period of exactly the n rounds (timestamp = round): the model is fitted
            // once, to them, as the batch model is (no short first fit, no growing baseline).
            $0.baselineEnd = Int64(n + lags)
        }
        section.alerts = AlertPolicy(threshold: 1e9, criticalThreshold: 1e9)
        var monitor = PCAMonitor(configuration: section.configuration, dimension: 8)
        // Batch model of the first n augmented vectors.
        let x = Self.augmented(values, lags: lags)
        let p = x[0].count
        var mean = [Double](repeating: 0, count: p), sd = mean
        for row in x[0..<n] { for i in 0..<p { mean[i] += row[i] / Double(n) } }
        for row in x[0..<n] { for i in 0..<p { sd[i] += (row[i] - mean[i]) * (row[i] - mean[i]) / Double(n - 1) } }
        sd = sd.map { $0.squareRoot() }
        var r = [Double](repeating: 0, count: p * p)
        for row in x[0..<n] {
            let z = (0..<p).map { (row[$0] - mean[$0]) / sd[$0] }
            for i in 0..<p { for j in 0..<p { r[i * p + j] += z[i] * z[j] / Double(n - 1) } }
        }
        var solver = SymmetricEigensolver(capacity: p)
        _ = r.withUnsafeBufferPointer { solver.decompose($0, order: p) }
        for (t, row) in values.enumerated() {
            let out = row.withUnsafeBufferPointer { monitor.update(timestamp: Int64(t), vector: $0, alertRaised: false) }
            let a = t - lags  // index in x
            guard a >= n else {
                #expect(out == nil, "no score while learning (round \(t))")
                continue
            }
            let output = try #require(out)
            let z = (0..<p).map { (x[a][$0] - mean[$0]) / sd[$0] }
            var t2 = 0.0, explained = [Double](repeating: 0, count: p)
            for c in 0..<k {
                let v = Array(solver.vectors[(c * p)..<((c + 1) * p)])
                var score = 0.0
                for i in 0..<p { score += v[i] * z[i] }
                t2 += score * score / solver.values[c]
                for i in 0..<p { explained[i] += score * v[i] }
            }
            let residual = (0..<p).map { z[$0] - explained[$0] }
            let q = residual.reduce(0) { $0 + $1 * $1 }
            #expect(abs(monitor.lastT2 - t2) <= 1e-9 * t2, "T² at round \(t): \(monitor.lastT2) vs \(t2)")
            #expect(abs(monitor.lastQ - q) <= 1e-9 * q, "Q at round \(t): \(monitor.lastQ) vs \(q)")
            // Without smoothing the members' parts are this round's contributions: they add up.
            let parts = monitor.parts
            #expect(abs(parts.t2.reduce(0, +) - t2) <= 1e-9 * t2 && abs(parts.q.reduce(0, +) - q) <= 1e-9 * q)
            let memberQ = (0..<8).map { j in residual[j] * residual[j] + residual[8 + j] * residual[8 + j] }
            for j in 0..<8 { #expect(abs(parts.q[j] - memberQ[j]) <= 1e-9 * q) }
            #expect(output.score == max(t2 / monitor.t2Limit, q / monitor.qLimit) || abs(output.score - max(t2 / monitor.t2Limit, q / monitor.qLimit)) < 1e-9)
        }
        let model = monitor.model
        #expect(monitor.components == k && model.components.count == k)
        for i in 0..<p { #expect(abs(model.mean[i] - mean[i]) <= 1e-9 * max(1, abs(mean[i])) && abs(model.scale[i] - sd[i]) <= 1e-9 * sd[i]) }
        // The theoretical limits are the documented formulas (T²'s times t2_factor).
        let nd = Double(n), kd = Double(k)
        let f = Distributions.fQuantile(1 - section.configuration.alpha, d1: kd, d2: nd - kd)
        let t2Factor = section.configuration.t2Factor
        #expect(t2Factor == 3, "the shipped factor")
        #expect(abs(monitor.t2Limit - t2Factor * kd * (nd - 1) * (nd + 1) / (nd * (nd - kd)) * f) < 1e-9 * monitor.t2Limit)
        let residualEigen = solver.values[k..<p]
        var theta = (0.0, 0.0, 0.0)
        for l in residualEigen {
            theta.0 += l
            theta.1 += l * l
            theta.2 += l * l * l
        }
        let jm = Distributions.jacksonMudholkarLimit(theta1: theta.0, theta2: theta.1, theta3: theta.2, alpha: section.configuration.alpha)
        #expect(abs(monitor.qLimit - jm) < 1e-9 * jm)
    }
}

extension PCAMonitorTests {
    /// Per round of a plain iid-like plant (no factor memory, no delays): the share of fresh rounds
    /// whose raw T² and Q exceed their limits, without smoothing or adaptation.
    static func exceedance(limits: PCALimitMethod, alpha: Double, seed: UInt64) -> (t2: Double, q: Double) {
        let plant = LatentFactorPlant(sensors: 12, factors: 3, rounds: 22_000, persistence: 0...0.01, noise: 0.3, maximumDelay: 0, seed: seed)
        let values = plant.generate().values
        // t2Factor 1: the limits themselves, at alpha.
        var monitor = PCAMonitor(configuration: PCAConfiguration(lags: 0, warmup: 2000, limits: limits, alpha: alpha, t2Factor: 1,
                                                                 smoothing: 1, forgetting: 1), dimension: 12)
        var t2 = 0, q = 0, scored = 0
        for (t, row) in values.enumerated() {
            guard row.withUnsafeBufferPointer({ monitor.update(timestamp: Int64(t), vector: $0, alertRaised: false) }) != nil else { continue }
            scored += 1
            if monitor.lastT2 > monitor.t2Limit { t2 += 1 }
            if monitor.lastQ > monitor.qLimit { q += 1 }
        }
        return (Double(t2) / Double(scored), Double(q) / Double(scored))
    }

    @Test("on fresh in-control data each limit is exceeded at about its nominal rate", arguments: PCALimitMethod.allCases)
    func falseAlarmRate(limits: PCALimitMethod) {
        let alpha = 0.01
        var t2 = 0.0, q = 0.0
        for seed in 1...2 as ClosedRange<UInt64> {
            let r = Self.exceedance(limits: limits, alpha: alpha, seed: seed)
            t2 += r.t2 / 2
            q += r.q / 2
        }
        if ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil {
            print("\(limits) limits, α = \(alpha): T² exceeded on \(t2), Q on \(q) of fresh rounds")
        }
        #expect(t2 > alpha / 2 && t2 < 2 * alpha, "\(limits): T² exceeds its limit on \(t2) of fresh rounds (nominal \(alpha))")
        #expect(q > alpha / 2 && q < 2 * alpha, "\(limits): Q exceeds its limit on \(q) of fresh rounds (nominal \(alpha))")
    }
}

extension PCAMonitorTests {
    static let faultRounds = 3000..<3800
    static let faultySensor = 5

    /// A 24-sensor plant (4 factors, delays up to 3 rounds) with one fault on sensor 5 over rounds
    /// 3000..<3800, through the shipped PCA settings.
    static func faultRun(_ kind: LatentFactorPlant.Fault.Kind, seed: UInt64,
                         section: DetectorSection<PCAConfiguration> = PCATestSupport.section()) -> (run: PCARun, labels: [Bool], values: [[Double]]) {
        let magnitude: Double = switch kind {
        case .step: 1.5
        case .drift: 4
        case .variance: 5
        case .stuck, .correlationBreak: 0
        }
        let plant = LatentFactorPlant(sensors: 24, rounds: 6000, faults: [.init(kind, rounds: faultRounds, sensor: faultySensor, magnitude: magnitude)],
                                      seed: seed)
        let (values, labels) = plant.generate()
        return (PCATestSupport.run(values, section: section), labels, values)
    }

    /// The smallest share of fault time flagged required per kind, with the shipped settings: a
    /// drift starts from nothing (its first quarter is within the noise); a stuck sensor only
    /// shows while the process is away from where it froze (PCA sees it disagree with the others,
    /// not its missing noise), so its alert comes and goes.
    static func required(_ kind: LatentFactorPlant.Fault.Kind) -> Double {
        switch kind {
        case .step: 0.9
        case .variance: 0.75
        case .correlationBreak: 0.7
        case .drift: 0.65
        case .stuck: 0.45
        }
    }

    @Test("each fault kind is flagged for most of its duration at a low false-alarm rate, the faulty sensor named first",
          arguments: LatentFactorPlant.Fault.Kind.allCases)
    func faultKinds(kind: LatentFactorPlant.Fault.Kind) throws {
        var shares: [Double] = [], falseAlarms: [Double] = []
        for seed in [UInt64(1), 2] {
            let (run, labels, _) = Self.faultRun(kind, seed: seed, section: PCATestSupport.section())
            shares.append(run.share(Self.faultRounds))
            falseAlarms.append(run.falseAlarmShare(labels: labels, from: 1002))
            // Alerts raised during the fault name the faulty sensor as the strongest contributor.
            let raised = run.alerts.filter { $0.event == .raised && Self.faultRounds.contains(Int($0.timestamp)) }
            let first = raised.compactMap { a -> Int32? in if case .pca(let e) = a.evidence { e.first.position } else { nil } }
            #expect(!first.isEmpty, "\(kind), seed \(seed): no alert raised during the fault")
            #expect(first.filter { $0 == Int32(Self.faultySensor) }.count * 2 > first.count,
                    "\(kind), seed \(seed): strongest contributors \(first)")
            if ProcessInfo.processInfo.environment["VIGIL_PCA_DIAGNOSTICS"] != nil {
                print("\(kind) seed \(seed): fault flagged \(shares.last!), normal flagged \(falseAlarms.last!), first contributors \(first)")
            }
        }
        let share = shares.reduce(0, +) / 2
        #expect(share >= Self.required(kind), "\(kind): \(shares) of the fault time flagged")
        #expect(falseAlarms.allSatisfy { $0 <= 0.02 }, "\(kind): \(falseAlarms) of the normal time flagged")
    }
}

extension PCAMonitorTests {
    @Test("a correlation break is caught while every sensor stays within its usual range")
    func correlationBreakWithinRange() throws {
        let (run, _, values) = Self.faultRun(.correlationBreak, seed: 3)
        let j = Self.faultySensor
        let usual = values[0..<Self.faultRounds.lowerBound].map { $0[j] }
        let low = usual.min()!, high = usual.max()!
        #expect(Self.faultRounds.allSatisfy { values[$0][j] >= low && values[$0][j] <= high }, "the faulty sensor left its range")
        #expect(run.share(Self.faultRounds) >= 0.4, "with the shipped settings (smoothing 0.4) the alert comes and goes")
        let raised = try #require(run.alerts.first { $0.event == .raised && Self.faultRounds.contains(Int($0.timestamp)) })
        guard case .pca(let e) = raised.evidence else { Issue.record("expected PCA evidence"); return }
        #expect(e.first.position == Int32(j))
        #expect(e.q > e.qLimit, "a broken correlation shows in Q")
        #expect(e.first.qShare > e.second.qShare && e.first.qShare <= 1, "\(e)")
        #expect(e.second.position >= 0 && e.second.position != e.first.position && e.third.position != e.second.position)
    }

    @Test("slow drift of the operating point is followed and does not alarm forever")
    func slowDrift() {
        // The factors' means drift by 4 of their deviations over the recording.
        let plant = LatentFactorPlant(sensors: 16, factors: 3, rounds: 20_000, processDrift: 4.0 / 20_000, seed: 5)
        let (values, labels) = plant.generate()
        let adapting = PCATestSupport.run(values, section: PCATestSupport.section())
        let frozen = PCATestSupport.run(values, section: PCATestSupport.section { $0.forgetting = 1 })
        let lateHalf = 10_000..<20_000, end = 18_000..<20_000
        #expect(adapting.share(lateHalf) < 0.05, "adapting monitor flags \(adapting.share(lateHalf)) of the late half")
        #expect(adapting.falseAlarmShare(labels: labels, from: 1002) < 0.05)
        #expect(adapting.share(end) < 0.05, "still alarming at the end")
        // Without adaptation the same drift is (rightly, for a frozen model) out of control once it
        // is large: at the end, 4 deviations of the factors away from the baseline.
        #expect(frozen.share(end) > 0.5, "frozen monitor flags \(frozen.share(end)) of the last 2000 rounds")
        #expect((adapting.monitor?.refreshes ?? 0) > 10)
    }

    @Test("the model does not adapt while raised: a sustained fault stays flagged for its whole duration")
    func sustainedFault() throws {
        // A step on one sensor lasting 7000 rounds, seven times the adaptation memory.
        let fault = 2000..<9000
        let plant = LatentFactorPlant(sensors: 16, factors: 3, rounds: 10_000, faults: [.init(.step, rounds: fault, sensor: 2, magnitude: 2)], seed: 8)
        let (values, _) = plant.generate()
        var detector = AssetDetector(asset: 1, settings: .init(pca: PCATestSupport.section()), dimension: 16)
        var refreshesAt: [Int: UInt64] = [:]
        var flagged = 0
        var alerts: [AlertEvent] = []
        for (t, row) in values.enumerated() {
            for (i, v) in row.enumerated() {
                detector.update(position: i, timestamp: Int64(t), value: v, score: { _, _ in }, emit: { alerts.append($0) })
            }
            if fault.contains(t), detector.isRaised { flagged += 1 }
            if t == fault.lowerBound + 20 || t == fault.upperBound - 1 { refreshesAt[t] = detector.pcaMonitor!.refreshes }
        }
        #expect(Double(flagged) / Double(fault.count) > 0.99, "flagged \(flagged) of \(fault.count) fault rounds")
        #expect(refreshesAt[fault.lowerBound + 20] == refreshesAt[fault.upperBound - 1], "the model was refreshed during the fault")
        // One alert (one id) for the whole fault, cleared soon after it ends.
        let ids = Set(alerts.filter { $0.event == .raised && $0.raisedAt >= Int64(fault.lowerBound) && $0.raisedAt < Int64(fault.upperBound) }.map(\.raisedAt))
        #expect(ids.count == 1, "alerts raised during the fault: \(ids.sorted())")
        let cleared = try #require(alerts.first { $0.event == .cleared && $0.timestamp >= Int64(fault.upperBound) })
        #expect(cleared.timestamp < Int64(fault.upperBound + 100) && ids.contains(cleared.raisedAt))
        #expect(!detector.isRaised)
    }

    @Test("a non-finite value skips its round: the model is not corrupted and nothing traps")
    func nonFinite() throws {
        let plant = LatentFactorPlant(sensors: 6, factors: 2, rounds: 700, seed: 4)
        let values = plant.generate().values
        let configuration = PCAConfiguration(lags: 2, warmup: 300, updateEvery: 50)
        var clean = PCAMonitor(configuration: configuration, dimension: 6)
        var dirty = PCAMonitor(configuration: configuration, dimension: 6)
        for (t, row) in values.enumerated() {
            if t == 100 || t == 500 {
                // During the baseline and while monitoring: NaN, infinities.
                for bad in [Double.nan, .infinity, -.infinity] {
                    var r = row
                    r[t % 6] = bad
                    let out = r.withUnsafeBufferPointer { dirty.update(timestamp: Int64(t), vector: $0, alertRaised: false) }
                    #expect(out == nil)
                }
            }
            let a = row.withUnsafeBufferPointer { clean.update(timestamp: Int64(t), vector: $0, alertRaised: false) }
            let b = row.withUnsafeBufferPointer { dirty.update(timestamp: Int64(t), vector: $0, alertRaised: false) }
            #expect(a == b, "round \(t)")
        }
        #expect(dirty.skippedRounds == 6 && clean.skippedRounds == 0)
        #expect(dirty.isMonitoring && dirty.lastQ.isFinite && dirty.lastT2.isFinite && dirty.refreshes == clean.refreshes)
        // Through the asset detector too (as a sample would arrive if ingest let it through).
        var asset = AssetDetector(asset: 3, settings: .init(pca: PCATestSupport.section { $0.warmup = 300 }), dimension: 6)
        for (t, row) in values.enumerated() {
            for (i, v) in row.enumerated() {
                asset.update(position: i, timestamp: Int64(t), value: t == 400 && i == 2 ? .nan : v, score: { _, s in #expect(s.isFinite) }, emit: { _ in })
            }
        }
        #expect(asset.pcaMonitor?.skippedRounds == 1)
    }
}

extension PCAMonitorTests {
    @Test("a new member grows the asset: the monitor learns the larger vector, a raised alert is kept and cleared with its id")
    func growth() throws {
        let plant = LatentFactorPlant(sensors: 4, factors: 2, rounds: 1600, faults: [.init(.step, rounds: 400..<520, sensor: 1, magnitude: 6)], seed: 9)
        let values = plant.generate().values
        let section = PCATestSupport.section { $0.warmup = 300 }
        var asset = AssetDetector(asset: 2, settings: .init(pca: section), dimension: 3)
        var alerts: [AlertEvent] = []
        var raisedBeforeGrowth = false
        for (t, row) in values.enumerated() {
            // Member 3 joins at round 500, while the fault keeps the alert raised.
            let members = t < 500 ? 3 : 4
            if t == 500 { raisedBeforeGrowth = asset.isRaised }
            for i in 0..<members {
                asset.update(position: i, timestamp: Int64(t), value: row[i], score: { _, _ in }, emit: { alerts.append($0) })
            }
            if t == 500 {
                #expect(asset.dimension == 4)
                let m = try #require(asset.pcaMonitor)
                #expect(m.dimension == 4 && !m.isMonitoring && m.baselineCount <= 1, "the monitor restarts at the new dimension")
            }
        }
        #expect(raisedBeforeGrowth)
        let m = try #require(asset.pcaMonitor)
        #expect(m.isMonitoring && m.dimension == 4 && m.width == 12)
        // (A short first baseline of 3 members may raise a false alarm before the fault: the
        // alert that matters is the one the fault raises.)
        let raised = try #require(alerts.first { $0.event == .raised && $0.timestamp >= 400 })
        #expect(raised.timestamp < 500)
        let cleared = try #require(alerts.first { $0.event == .cleared && $0.raisedAt == raised.raisedAt })
        #expect(cleared.timestamp >= 520, "kept through the growth and the rest of the fault, cleared once the new model sees the process in control")
    }

    /// Feeds `rows` of `values` (every member once per round) to `a`, collecting scores and alerts.
    static func feed(_ a: inout AssetDetector, _ values: [[Double]], _ rows: Range<Int>) -> (scores: [Double], alerts: [AlertEvent]) {
        var scores: [Double] = [], alerts: [AlertEvent] = []
        for t in rows {
            for (i, v) in values[t].enumerated() {
                a.update(position: i, timestamp: Int64(t), value: v, score: { _, s in scores.append(s) }, emit: { alerts.append($0) })
            }
        }
        return (scores, alerts)
    }

    @Test("a restored monitor continues bit for bit (in the baseline, monitoring, raised, after refreshes)",
          arguments: [150, 301, 1200, 2510])
    func snapshotContinuesExactly(at cut: Int) throws {
        let plant = LatentFactorPlant(sensors: 6, factors: 2, rounds: 3200, faults: [.init(.step, rounds: 2500..<2700, sensor: 3, magnitude: 5)], seed: 12)
        let values = plant.generate().values
        let settings = AssetDetector.Settings(pca: PCATestSupport.section { $0.warmup = 300; $0.updateEvery = 100 })
        var original = AssetDetector(asset: 4, settings: settings, dimension: 6)
        _ = Self.feed(&original, values, 0..<cut)
        // A round in progress too: half its members reported.
        for i in 0..<3 { original.update(position: i, timestamp: Int64(cut), value: values[cut][i], score: { _, _ in }, emit: { _ in }) }
        var w = SnapshotWriter()
        original.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var restored = try AssetDetector(asset: 4, settings: settings, restoringFrom: &r)
        #expect(r.isAtEnd)
        var partial = values
        partial[cut] = Array(values[cut][3...]) // the rest of the round, positions 3..<6
        func finishRound(_ a: inout AssetDetector) -> [Double] {
            var s: [Double] = []
            for i in 3..<6 { a.update(position: i, timestamp: Int64(cut), value: values[cut][i], score: { _, x in s.append(x) }, emit: { _ in }) }
            return s
        }
        #expect(finishRound(&original) == finishRound(&restored))
        let a = Self.feed(&original, values, (cut + 1)..<3200)
        let b = Self.feed(&restored, values, (cut + 1)..<3200)
        #expect(a.scores == b.scores, "scores differ after the restore")
        #expect(a.alerts == b.alerts)
        #expect(!a.scores.isEmpty)
        var w1 = SnapshotWriter(), w2 = SnapshotWriter()
        original.write(to: &w1)
        restored.write(to: &w2)
        #expect(w1.bytes == w2.bytes)
        if cut == 2510 { #expect(original.pcaMonitor!.refreshes > 0 && a.alerts.contains { $0.event == .cleared }) }
    }

    @Test("damaged records throw SnapshotError, never trap")
    func snapshotDamage() throws {
        let plant = LatentFactorPlant(sensors: 4, factors: 2, rounds: 400, seed: 2)
        let values = plant.generate().values
        let settings = AssetDetector.Settings(pca: PCATestSupport.section { $0.warmup = 200; $0.lags = 1 })
        var a = AssetDetector(asset: 1, settings: settings, dimension: 4)
        _ = Self.feed(&a, values, 0..<400)
        var w = SnapshotWriter()
        a.write(to: &w)
        let bytes = w.bytes
        // Every truncation.
        for end in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 500)) {
            var r = SnapshotReader(Array(bytes[0..<end]))
            #expect(throws: SnapshotError.self) { _ = try AssetDetector(asset: 1, settings: settings, restoringFrom: &r) }
        }
        // Values out of range: a huge dimension, a NaN in the model, a bad phase.
        func patched(_ offset: Int, _ value: UInt64) -> [UInt8] {
            var b = bytes
            withUnsafeBytes(of: value.littleEndian) { for (i, x) in $0.enumerated() { b[offset + i] = x } }
            return b
        }
        var r1 = SnapshotReader(patched(0, 1 << 40))
        #expect(throws: SnapshotError.self) { _ = try AssetDetector(asset: 1, settings: settings, restoringFrom: &r1) }
        var damaged = bytes
        // Sixteen bytes of 0xFF inside the adapted covariance hold at least one whole NaN.
        for i in (bytes.count - 216)..<(bytes.count - 200) { damaged[i] = 0xFF }
        var r2 = SnapshotReader(damaged)
        #expect(throws: SnapshotError.self) { _ = try AssetDetector(asset: 1, settings: settings, restoringFrom: &r2) }
        // A record written for other settings (more lags) does not fit.
        var other = SnapshotReader(bytes)
        #expect(throws: SnapshotError.self) {
            _ = try AssetDetector(asset: 1, settings: .init(pca: PCATestSupport.section { $0.warmup = 200; $0.lags = 2 }), restoringFrom: &other)
        }
    }
}

extension PCAMonitorTests {
    static let second: Int64 = 1_000_000_000

    @Test("a named baseline period: rounds before it are ignored, its rounds are learned, monitoring starts at its end")
    func namedBaseline() throws {
        let values = LatentFactorPlant(sensors: 5, factors: 2, rounds: 2000, seed: 6).generate().values
        let configuration = PCAConfiguration(lags: 1, warmup: 1500, baselineStart: 400 * Self.second, baselineEnd: 1000 * Self.second)
        var monitor = PCAMonitor(configuration: configuration, dimension: 5)
        var firstScored: Int?
        var atEnd: PCAMonitor?
        for (t, row) in values.enumerated() {
            let out = row.withUnsafeBufferPointer { monitor.update(timestamp: Int64(t) * Self.second, vector: $0, alertRaised: false) }
            if t < 400 { #expect(monitor.phase == .waiting && out == nil) }
            if out != nil, firstScored == nil { firstScored = t }
            if t == 1000 { atEnd = monitor }
        }
        #expect(firstScored == 1000, "the first round at the period's end is scored")
        #expect(monitor.isMonitoring && monitor.baselines == 1)
        // The model is that of rounds 400..<1000 (the same as a warm-up over exactly those rounds).
        // (A reference with an open-ended named period is fitted once, when it holds warmup rounds.)
        var reference = PCAMonitor(configuration: PCAConfiguration(lags: 1, warmup: 600, baselineEnd: .max), dimension: 5)
        for t in 399..<1000 { values[t].withUnsafeBufferPointer { _ = reference.update(timestamp: 0, vector: $0, alertRaised: false) } }
        let fitted = try #require(atEnd)
        #expect(reference.isMonitoring && fitted.baselineCount == 600)
        #expect(reference.model.mean == fitted.model.mean && reference.t2Limit == fitted.t2Limit && reference.qLimit == fitted.qLimit)
    }

    @Test("a named period that yields too few rounds falls back to the first warm-up rounds after it")
    func namedBaselineInThePast() {
        let values = LatentFactorPlant(sensors: 5, factors: 2, rounds: 900, seed: 6).generate().values
        let configuration = PCAConfiguration(lags: 1, warmup: 400, baselineStart: -10 * Self.second, baselineEnd: -5 * Self.second)
        var monitor = PCAMonitor(configuration: configuration, dimension: 5)
        var firstScored: Int?
        for (t, row) in values.enumerated() {
            let out = row.withUnsafeBufferPointer { monitor.update(timestamp: Int64(t) * Self.second, vector: $0, alertRaised: false) }
            if out != nil, firstScored == nil { firstScored = t }
        }
        // Round 0 fills the lag history; the warm-up is rounds 1…400, round 401 the first scored.
        #expect(firstScored == 401, "first scored round \(String(describing: firstScored))")
    }

    @Test("relearn_after: a state raised for long is taken as a new operating point and learned")
    func relearn() throws {
        // Every sensor moves to a new operating point at round 1500 (a step of each by 3 deviations).
        var values = LatentFactorPlant(sensors: 6, factors: 2, rounds: 4000, seed: 10).generate().values
        let spread = (0..<6).map { j in
            let column = values[0..<1000].map { $0[j] }
            let mean = column.reduce(0, +) / 1000
            return (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 999).squareRoot()
        }
        for t in 1500..<4000 { for j in 0..<6 where j % 2 == 0 { values[t][j] += 3 * spread[j] } }
        let never = PCATestSupport.run(values, section: PCATestSupport.section { $0.warmup = 500 })
        let relearning = PCATestSupport.run(values, section: PCATestSupport.section { $0.warmup = 500; $0.relearnAfter = 300 })
        #expect(never.share(1600..<4000) > 0.99, "without relearn_after the new point stays flagged")
        #expect(relearning.share(2400..<4000) < 0.05, "after relearning the new point is normal")
        #expect(relearning.monitor?.baselines == 2)
        let raised = try #require(relearning.alerts.first { $0.event == .raised && $0.timestamp >= 1500 })
        let cleared = try #require(relearning.alerts.first { $0.event == .cleared && $0.timestamp > raised.timestamp })
        // Relearning fits the new point's first baseline after firstFit rounds, and clears after.
        let firstFit = try #require(relearning.monitor?.firstFit)
        #expect(cleared.raisedAt == raised.raisedAt && cleared.timestamp > 1500 + 300 + firstFit)
    }
}

extension PCAMonitorTests {
    /// Two monitors of the same baseline, T² counted at its alpha limit (`t2Factor` 1) and at the
    /// shipped 3 times it, and the score of a round `direction` moves from the baseline mean.
    static func scores(of move: (_ model: (mean: [Double], scale: [Double], components: [[Double]], variances: [Double]),
                                 _ t2Limit: Double) -> [Double]) -> (textbook: PCAMonitor, shipped: PCAMonitor, scores: (Double, Double)) {
        let (values, _) = LatentFactorPlant(sensors: 10, factors: 3, rounds: 600, seed: 9).generate()
        // A named baseline of the first 500 rounds, fitted once at its end (round 500): both
        // monitors fit the same rounds (a growing baseline would take in different ones, since
        // which rounds are in control depends on the factor).
        func monitor(_ factor: Double) -> PCAMonitor {
            var m = PCAMonitor(configuration: PCAConfiguration(lags: 0, warmup: 500, baselineEnd: 500, t2Factor: factor,
                                                               smoothing: 1, forgetting: 1),
                               dimension: 10)
            for (t, row) in values[0...500].enumerated() {
                _ = row.withUnsafeBufferPointer { m.update(timestamp: Int64(t), vector: $0, alertRaised: false) }
            }
            return m
        }
        var textbook = monitor(1), shipped = monitor(3)
        let x = move(textbook.model, textbook.t2Limit)
        let a = x.withUnsafeBufferPointer { textbook.update(timestamp: 600, vector: $0, alertRaised: true) }!.score
        let b = x.withUnsafeBufferPointer { shipped.update(timestamp: 600, vector: $0, alertRaised: true) }!.score
        return (textbook, shipped, (a, b))
    }

    @Test("t2_factor multiplies T²'s limit only: a move along the model counts at 3 times its limit, a broken correlation at Q's")
    func t2Factor() {
        // Along the first component, to twice the textbook T² limit: in the model's plane (Q ≈ 0).
        let along = Self.scores { model, limit in
            let c = (2 * limit * model.variances[0]).squareRoot()
            return (0..<10).map { model.mean[$0] + c * model.components[0][$0] * model.scale[$0] }
        }
        #expect(abs(along.shipped.t2Limit - 3 * along.textbook.t2Limit) <= 1e-9 * along.shipped.t2Limit)
        #expect(along.shipped.qLimit == along.textbook.qLimit)
        #expect(abs(along.scores.0 - 2) < 1e-6, "textbook: at twice the T² limit (\(along.scores.0))")
        #expect(abs(along.scores.1 - 2.0 / 3) < 1e-6, "shipped: two thirds of its T² limit (\(along.scores.1))")
        // One sensor alone moved by 8 of its deviations: off the model's plane, so Q flags it under
        // both (the same Q limit).
        let off = Self.scores { model, _ in
            (0..<10).map { model.mean[$0] + ($0 == 4 ? 8 * model.scale[$0] : 0) }
        }
        #expect(off.scores.0 > 1 && off.scores.1 > 1, "a broken correlation: \(off.scores)")
    }
}
