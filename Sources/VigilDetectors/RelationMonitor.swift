// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// A relation the config declares between an asset's sensors (`relations` entry): its name, the
/// parsed expression, and how its fitted parameters are fitted. Built once at load.
public struct RelationDefinition: Sendable, Equatable {
    /// The relation's name; its residual is the sensor `<asset>/<name>` (alerts on
    /// `alert/<asset>/<name>`).
    public var name: String
    public var expression: RelationExpression
    /// Starting values of the fitted parameters (as `expression.fitted`).
    public var initial: [Double]
    /// Rounds fitted before the residual is scored (only with fitted parameters).
    public var fitWarmup: Int
    /// Memory of the recursive least squares in rounds (forgetting factor 1 − 1/memory).
    public var fitMemory: Int
    /// Rounds the scored residual is averaged over (1: each round's own). A balance over a
    /// window is what a plant's reconciliation computes: a derivative's noise cancels within it
    /// (the level's changes telescope), so a small lasting imbalance stands out.
    public var window: Int

    /// Rounds before a fitted relation's residual is scored, by default.
    public static let defaultFitWarmup = 500
    /// Memory of the fit, by default (rounds).
    public static let defaultFitMemory = 10_000
    /// Most sensors one relation may name.
    public static let maximumSensors = 64
    /// Most fitted parameters of one relation.
    public static let maximumFitted = 8
    /// Longest averaging window in rounds.
    public static let maximumWindow = 3600

    public init(name: String, expression: RelationExpression, initial: [Double]? = nil,
                fitWarmup: Int = RelationDefinition.defaultFitWarmup, fitMemory: Int = RelationDefinition.defaultFitMemory,
                window: Int = 1) {
        precondition((1...Self.maximumWindow).contains(window))
        self.window = window
        precondition(expression.sensors.count <= Self.maximumSensors && expression.fitted.count <= Self.maximumFitted)
        self.name = name
        self.expression = expression
        self.initial = initial ?? [Double](repeating: 0, count: expression.fitted.count)
        precondition(self.initial.count == expression.fitted.count)
        self.fitWarmup = expression.fitted.isEmpty ? 0 : fitWarmup
        self.fitMemory = max(2, fitMemory)
    }

    /// Identifies the definition and the residual's detector settings in a snapshot: a record
    /// is restored only into the same relation with the same settings.
    public func fingerprint(settings: DetectorSettings) -> UInt64 {
        var w = SnapshotWriter()
        w.write("vigil-relation-1")
        w.write(name)
        w.write(expression.source)
        w.write(UInt32(expression.fitted.count))
        for (k, p) in expression.fitted.enumerated() {
            w.write(p)
            w.write(initial[k])
        }
        for t in expression.terms { w.write(t.text) }
        w.write(fitWarmup)
        w.write(fitMemory)
        w.write(window)
        w.write(settings.fingerprint)
        return fnv1a64(w.bytes)
    }
}

/// The residual of one relation on one asset, computed every round and run through an ordinary
/// per-sensor chain (`SensorDetectors`: the same detectors, calibration, alert state and
/// evidence as any sensor) whose sensor is the relation's own registry entry
/// `<asset>/<relation>`.
///
/// - **Rounds**: a round is complete when every sensor the expression names has reported since
///   the last one (as an asset's rounds); it is evaluated at the completing sample's timestamp
///   with each sensor's latest value. `der(x)` is the change of x since the previous round per
///   second, `lag(x, n)` x of n rounds ago; a round where either has no history yet, or any value
///   is not finite, is skipped (not scored, not learned).
/// - **Window**: the residual scored is that of the window means of its parts (with a window of
///   `window` rounds; 1: each round's own).
/// - **Fitted parameters**: the residual is linear in them, `r = f(x) + Σ θₚ φₚ(x)`, so recursive
///   least squares (forgetting 1 − 1/`fit_memory`) fits θ to make r ≈ 0 on the window means
///   (where a derivative's noise has cancelled, so it does not bias the fit towards 0) — for
///   `fit_warmup` rounds before the residual is scored, then only on in-control rounds (no alert
///   raised or building), so a fault is never fitted away.
/// - **Which terms moved**: each term's recent value (smoothed over about 20 rounds, or the window)
///   against its
///   in-control mean (memory about 2000 rounds), in units of the residual's in-control deviation;
///   a raised alert carries the three largest (`AlertEvent.relation`).
///
/// Storage: one buffer of doubles allocated at creation (values, `der`/`lag` history, the
/// evaluation stack, θ and P, term statistics). Threading: owned by the worker that owns the
/// asset; `update` neither allocates nor locks.
public struct RelationMonitor: Sendable {
    /// The relation's registry index (its alerts' sensor).
    public let index: UInt32
    /// The asset's registry index.
    public let asset: UInt32
    public let definition: RelationDefinition
    /// The residual's chain.
    public private(set) var chain: SensorDetectors
    /// Full sensor names the expression names (`<asset>/<name>`), as `expression.sensors`.
    public let sensorNames: [String]

    private var store: [Double]
    private let layout: Layout
    private var reported: UInt64 = 0
    private let complete: UInt64
    private var origin: Int64 = 0
    private var started = false
    /// Rounds evaluated (finite residual).
    public private(set) var rounds = 0
    private var fitStarted = false
    private var statistics = 0

    /// Smoothing of the recent term values (at least; 2 / (window + 1) with a window) and of the
    /// term baselines.
    static let fast = 0.05

    struct Layout: Sendable {
        var values = 0, state = 0, stack = 0, theta = 0, p = 0, phi = 0, gain = 0
        var termValue = 0, termFast = 0, termBase = 0, residual = 0, window = 0, total = 0
        var stateOffsets: [Int] = []

        init(_ e: RelationExpression, windowLength: Int) {
            var at = 0
            values = at; at += e.sensors.count
            state = at
            for t in e.terms {
                stateOffsets.append(at - state)
                at += t.program.stateCount
            }
            stack = at; at += max(1, e.terms.map(\.program.depth).max() ?? 1)
            let n = e.fitted.count
            theta = at; at += n
            p = at; at += n * n
            phi = at; at += n
            gain = at; at += n
            let m = e.terms.count
            termValue = at; at += m
            termFast = at; at += m
            termBase = at; at += m
            residual = at; at += 4  // recent residual, in-control mean, in-control variance, last residual
            // Per part (the parameter-free one, then each fitted parameter's regressor): a ring of
            // the window's values and its sum; then the ring's count and next slot.
            window = at; at += (n + 1) * (windowLength + 1) + 2
            total = at
        }
    }

    public init(index: UInt32, asset: UInt32, assetName: String, definition: RelationDefinition, settings: DetectorSettings,
                synchronousTraining: Bool = false) {
        self.index = index
        self.asset = asset
        self.definition = definition
        sensorNames = definition.expression.sensors.map { assetName + "/" + $0 }
        chain = SensorDetectors(sensor: index, settings: settings, synchronousTraining: synchronousTraining)
        layout = Layout(definition.expression, windowLength: definition.window)
        store = [Double](repeating: 0, count: layout.total)
        let count = definition.expression.sensors.count
        complete = count == 64 ? .max : (UInt64(1) << UInt64(count)) - 1
        reset()
    }

    private mutating func reset() {
        let l = layout
        let e = definition.expression
        store.withUnsafeMutableBufferPointer { b in
            let s = b.baseAddress!
            for k in 0..<b.count { s[k] = 0 }
            for (k, t) in e.terms.enumerated() { t.program.initialState(into: s + l.state + l.stateOffsets[k]) }
            for k in 0..<e.fitted.count { s[l.theta + k] = definition.initial[k] }
        }
    }

    /// The fitted parameters' current values.
    public var fittedValues: [Double] { Array(store[layout.theta..<(layout.theta + definition.expression.fitted.count)]) }

    /// Whether the residual's alert is raised.
    public var isRaised: Bool { chain.isRaised }

    /// Records sensor `variable`'s value (its index in `expression.sensors`); on a complete round
    /// computes the residual and runs it through the chain.
    @inline(__always)
    public mutating func update(variable: Int, timestamp: Int64, value: Double,
                                scores: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        store[layout.values + variable] = value
        reported |= UInt64(1) << UInt64(variable)
        guard reported == complete else { return }
        reported = 0
        round(timestamp: timestamp, scores: scores, emit: emit)
    }

    private mutating func round(timestamp: Int64, scores: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        if !started {
            started = true
            origin = timestamp
        }
        let seconds = Double(timestamp &- origin) / 1e9
        let e = definition.expression
        let l = layout
        let n = e.fitted.count
        let inControl = chain.isInControl
        let warmup = definition.fitWarmup
        let lambda = 1 - 1 / Double(definition.fitMemory)
        var residual = 0.0
        var scored = 0.0
        var windowFull = false
        var finite = true
        var evidence = RelationEvidence(residual: 0, expected: 0, scale: 0)
        let scoring = rounds >= warmup
        var learnStatistics = false
        store.withUnsafeMutableBufferPointer { b in
            let s = b.baseAddress!
            for k in 0..<n { s[l.phi + k] = 0 }
            var free = 0.0
            let terms = e.terms
            for k in 0..<terms.count {
                let t = terms[k]
                let g = t.program.evaluate(values: s + l.values, seconds: seconds, state: s + l.state + l.stateOffsets[k],
                                           stack: s + l.stack)
                let signed = t.sign * g
                s[l.termValue + k] = signed
                if let p = t.fittedParameter { s[l.phi + p] += signed } else { free += signed }
                if !g.isFinite { finite = false }
            }
            guard finite else { return }
            for k in 0..<terms.count {
                if let p = terms[k].fittedParameter { s[l.termValue + k] *= s[l.theta + p] }
            }
            // Window means of the parameter-free part and of each fitted parameter's regressor
            // (running sums, re-added exactly each time the ring wraps so rounding does not build
            // up): the residual scored and the fit both use them, so a derivative's noise, which
            // cancels within a window, neither reaches the detectors nor biases the fit.
            let wl = definition.window
            let rings = s + l.window
            let count = Int(rings[(n + 1) * (wl + 1)]), next = Int(rings[(n + 1) * (wl + 1) + 1])
            let filled = min(count + 1, wl)
            for j in 0...n {
                let ring = rings + j * (wl + 1)
                let x = j == 0 ? free : s[l.phi + j - 1]
                ring[wl] += x - (count == wl ? ring[next] : 0)
                ring[next] = x
                if next + 1 == wl {
                    var sum = 0.0
                    for k in 0..<wl { sum += ring[k] }
                    ring[wl] = sum
                }
                // The means, in place of the round's values.
                if j == 0 { free = ring[wl] / Double(filled) } else { s[l.phi + j - 1] = ring[wl] / Double(filled) }
            }
            rings[(n + 1) * (wl + 1)] = Double(filled)
            rings[(n + 1) * (wl + 1) + 1] = Double(next + 1 == wl ? 0 : next + 1)
            windowFull = count + 1 >= wl
            residual = free
            for p in 0..<n { residual += s[l.theta + p] * s[l.phi + p] }
            scored = residual
            // Recursive least squares on the a-priori residual of the window means (fitting
            // rounds, then in-control rounds only).
            if n > 0 && windowFull && (!scoring || inControl) {
                if !fitStarted {
                    fitStarted = true
                    for i in 0..<n {
                        for j in 0..<n { s[l.p + i * n + j] = 0 }
                        let phi = s[l.phi + i]
                        s[l.p + i * n + i] = 1e4 / max(phi * phi, 1e-20)
                    }
                }
                var denominator = lambda
                for i in 0..<n {
                    var g = 0.0
                    for j in 0..<n { g += s[l.p + i * n + j] * s[l.phi + j] }
                    s[l.gain + i] = g
                    denominator += s[l.phi + i] * g
                }
                if denominator > 0 && denominator.isFinite {
                    for i in 0..<n { s[l.theta + i] -= s[l.gain + i] / denominator * residual }
                    for i in 0..<n {
                        for j in 0..<n {
                            s[l.p + i * n + j] = (s[l.p + i * n + j] - s[l.gain + i] * s[l.gain + j] / denominator) / lambda
                        }
                    }
                }
            }
            guard scoring else { return }
            // Which terms moved: recent values against their in-control means.
            let m = terms.count
            let first = statistics == 0
            let fast = min(0.5, max(Self.fast, 2 / Double(wl + 1)))
            for k in 0..<m {
                let v = s[l.termValue + k]
                s[l.termFast + k] = first ? v : s[l.termFast + k] + fast * (v - s[l.termFast + k])
            }
            let r = l.residual
            s[r] = first ? residual : s[r] + fast * (residual - s[r])
            s[r + 3] = residual
            learnStatistics = inControl
            if learnStatistics {
                let warm = Double(statistics + 1)
                let a = max(1 / Double(max(200, 8 * wl)), 1 / warm)
                for k in 0..<m { s[l.termBase + k] += a * (s[l.termValue + k] - s[l.termBase + k]) }
                let d = residual - s[r + 1]
                s[r + 1] += a * d
                s[r + 2] += a * (d * d * (1 - a) - s[r + 2])
            }
            let scale = max(s[r + 2].squareRoot(), 1e-300)
            evidence.residual = scored
            evidence.expected = s[r + 1]
            evidence.scale = s[r + 2].squareRoot()
            // The three largest moves (m is small: a selection pass per slot).
            var taken: UInt64 = 0
            for slot in 0..<RelationEvidence.slots {
                var best = -1
                var bestShift = 0.0
                for k in 0..<min(m, 64) where taken & (UInt64(1) << UInt64(k)) == 0 {
                    let shift = (s[l.termFast + k] - s[l.termBase + k]) / scale
                    if best < 0 || abs(shift) > abs(bestShift) {
                        best = k
                        bestShift = shift
                    }
                }
                guard best >= 0 else { break }
                taken |= UInt64(1) << UInt64(best)
                evidence[slot] = RelationTermShift(term: Int32(best), shift: Float(bestShift), value: Float(s[l.termFast + best]),
                                                   baseline: Float(s[l.termBase + best]))
            }
        }
        guard finite else { return }
        rounds += 1
        guard scoring, windowFull else { return }
        if learnStatistics { statistics += 1 }
        let sample = Sample(sensor: index, timestamp: timestamp, value: scored)
        chain.process(sample, scores: scores, emit: { event in
            var event = event
            if event.event == .raised { event.relation = evidence }
            emit(event)
        })
    }

    // MARK: Reconciling with the journal

    /// Brings the residual's alert state in line with the journal (see
    /// `SensorDetectors.reconcile(with:)`).
    public mutating func reconcile(with latest: JournaledAlert) -> AlertReconciliation { chain.reconcile(with: latest) }

    // MARK: Snapshot

    /// Writes the round, the fit, the history and statistics, then the residual's chain.
    public func write(to w: inout SnapshotWriter) {
        w.write(UInt32(layout.total))
        w.write(store)
        w.write(reported)
        w.write(origin)
        w.write(started)
        w.write(rounds)
        w.write(fitStarted)
        w.write(statistics)
        chain.write(to: &w)
    }

    /// A monitor restored from what `write(to:)` wrote for the same definition and settings
    /// (callers compare `RelationDefinition.fingerprint(settings:)`); continues exactly.
    public init(index: UInt32, asset: UInt32, assetName: String, definition: RelationDefinition, settings: DetectorSettings,
                synchronousTraining: Bool = false, restoringFrom r: inout SnapshotReader) throws(SnapshotError) {
        self.init(index: index, asset: asset, assetName: assetName, definition: definition, settings: settings,
                  synchronousTraining: synchronousTraining)
        let total = Int(try r.readUInt32("relation buffer size"))
        guard total == layout.total else { throw r.corrupt("relation buffer of \(total) doubles where the definition has \(layout.total)") }
        store = try r.readDoubles("relation buffer", count: total)
        let reported = try r.readUInt64("relation round")
        guard reported & ~complete == 0 else { throw r.corrupt("relation round names an unknown sensor") }
        self.reported = reported
        origin = try r.readInt64("relation origin")
        started = try r.readBool("relation started")
        rounds = try r.readInt("relation rounds", in: 0...SnapshotReader.maxCounter)
        fitStarted = try r.readBool("relation fit started")
        statistics = try r.readInt("relation statistics", in: 0...SnapshotReader.maxCounter)
        chain = try SensorDetectors(sensor: index, settings: chain.settings, synchronousTraining: synchronousTraining, restoringFrom: &r)
    }
}
