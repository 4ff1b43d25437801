// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Multivariate statistical process monitoring of an asset: (dynamic) principal component
/// analysis of the vector of its members' values, with Hotelling's T² on the retained components
/// and the squared prediction error Q on the residual, against control limits learned from a
/// baseline of normal operation (`DetectorKind.pca`).
///
/// **Vector.** One vector of the `dimension` members' values per completed round (see
/// `AssetDetector`). With `lags: L` the monitored vector is `[v(t), v(t−1), …, v(t−L)]`
/// (`width = dimension × (L + 1)` variables; Ku, Storer & Georgakakis 1995): a static model of
/// that vector also captures how each sensor follows its own and the others' recent past, so an
/// autocorrelated process is modelled and a sensor that stops following its dynamics (stuck,
/// delayed) shows in Q. The default, 2 lags, covers first- and second-order dynamics and
/// transport delays of up to two rounds, which is what Ku et al. found sufficient for typical
/// plants; more lags need proportionally longer baselines (≈ 10 rounds per variable).
///
/// **Baseline and model.** The first `warmup` complete vectors (or those whose round falls in
/// the named period `[baselineStart, baselineEnd)`; rounds before it are ignored) are kept. The
/// model is fitted when the buffer is full or the period ends (with at least
/// `minimumBaseline` rounds; otherwise it keeps collecting): each variable is standardised by the
/// baseline mean and standard deviation, the correlation matrix is decomposed (cyclic Jacobi,
/// `SymmetricEigensolver`) and `k` components are kept (`PCAComponents`: by default the number
/// minimising the variance of the reconstruction error, Qin & Dunia 2000; or a fixed number; or
/// a cumulative explained-variance fraction).
///
/// **Statistics.** With `z` the standardised vector, `t = Pₖᵀz` its scores and `λ` the retained
/// eigenvalues: `T² = Σ tₐ²/λₐ`, `Q = ‖z − Pₖt‖²`. Both are exponentially smoothed with weight
/// `smoothing` for the newest round (1 = none), which turns a small sustained shift into a clear
/// one at the cost of a few rounds' delay; the limits apply to the smoothed statistics. The
/// score is `max(T²/T²_limit, Q/Q_limit)`: 1 means "at a limit", which is what the alert
/// policy's threshold is compared with. `T²_limit` is `t2Factor` (3 by default) times T²'s
/// `alpha` limit: the retained components are the plant's slow modes (load, throughput, ambient,
/// setpoints), whose range a baseline of hours sees only in part, so T² at its `alpha` limit is
/// the asset moving along its own correlation structure, as normal operation does; a fault
/// breaks that structure, which Q sees, or moves the asset far beyond its range, which the
/// multiple still flags. On the Tennessee Eastman process every false alarm of T² at factor 1
/// came from T² (see README.md, "Detection quality").
///
/// **Limits** (`PCALimitMethod`). `empirical` (the default): the baseline is cut into 5
/// contiguous blocks; each block's rounds are scored by the model fitted to the other four, the
/// resulting statistics are smoothed as in monitoring, and the limits are their `1 − alpha`
/// quantiles. In-sample statistics would be too small (the model has seen those rounds: Q is
/// biased low when there are many variables), and limits from the F and chi-square
/// distributions assume independent, normal rounds, which autocorrelated and non-normal plant
/// data are not; on such data they raise several times the nominal rate of false alarms. The
/// block quantiles carry the slow wander of the process, the estimation error of the model and
/// any non-normality, at the cost of needing a few hundred baseline rounds. `theoretical`:
/// `T² ≤ k(n−1)(n+1)/(n(n−k))·F(1−α; k, n−k)` and the Jackson–Mudholkar limit of Q from the
/// residual eigenvalues; with smoothing, Box's scaled chi-square with the smoothed variance
/// (`Distributions`).
///
/// **Adaptation (no learning into a fault).** After the baseline the monitor keeps an
/// exponentially weighted mean and covariance of the vector (forgetting factor `forgetting`,
/// i.e. a memory of about `1/(1 − forgetting)` rounds), updated only on *in-control* rounds: the
/// score below 1 and the asset's PCA alert not raised. Every `updateEvery` in-control rounds the
/// model (mean, scaling, components and their variances) is refreshed from them: one Jacobi
/// sweep started from the current eigenvectors (the refreshes chain, so what one sweep leaves
/// the next removes); the number of
/// components and the limits stay those of the baseline. Slow drift of the process and gradual
/// changes of the operating point are therefore followed, while a fault — out of limits, or
/// raised — is never learned: a sustained fault stays flagged for as long as it lasts. A state
/// that stays raised for `relearnAfter` consecutive rounds (when > 0) is taken as a new operating
/// point: the monitor learns a new baseline from the following rounds (the alert clears once the
/// new model sees the process in control).
///
/// **Explanation.** Each variable's part of T² is `wᵢ²` with `w = Pₖ Λ^{-½} t` (the complete
/// decomposition of Alcala & Qin 2011: non-negative, summing to T²) and of Q is `rᵢ²` (the
/// residual); a sensor's part is the sum over its lagged copies, smoothed like the statistics.
/// The evidence names the three members with the largest part of the normalised statistics
/// (`part_T²/T²_limit + part_Q/Q_limit`), with their shares of T² and Q and the standardised
/// deviation of their latest value.
///
/// **Skipped rounds.** A vector with a non-finite value is skipped whole: not scored, not
/// learned, not added to the lag history (the model and limits stay as they were).
///
/// Threading: owned by one worker thread. Every buffer is allocated in `init`; `update` does not
/// allocate, including the fit at the end of the baseline and the periodic refresh, whose cost
/// grows as `width³` (for 90 variables, about 50 ms and a few ms on the worker, once per
/// baseline and once per `updateEvery` in-control rounds; see `Benchmarks/RESULTS.md`).
public struct PCAMonitor: Sendable {
    /// Where the monitor is in its life.
    public enum Phase: UInt8, Sendable {
        /// Before a named baseline period: rounds are ignored.
        case waiting = 0
        /// Collecting the baseline.
        case learning = 1
        /// Scoring every round.
        case monitoring = 2
    }

    /// Rounds a named baseline period needs at the least.
    public static let minimumBaseline = 20
    /// The most variables a monitor takes: the fit decomposes a `width × width` matrix and keeps
    /// several of that size. An asset with more members than this runs no PCA monitor; one
    /// with fewer but too many for its lags runs with as many lags as fit.
    public static let maximumWidth = 256

    /// Baseline rounds per variable the complete baseline (`warmup` rounds) should hold: the lags
    /// are cut until `dimension × (lags + 1) × roundsPerVariable ≤ warmup`.
    public static let roundsPerVariable = 10
    /// Baseline rounds per variable at the first fit: each of the 5 cross-validation models is
    /// then fitted to 2.4 rounds per variable, more rounds than variables (a full-rank
    /// correlation matrix). A 52-member asset is monitored after 156 rounds.
    public static let firstFitRoundsPerVariable = 3
    /// Baseline rounds at the first fit of a narrow asset: limits estimated from fewer rounds than
    /// this (3 per variable of a 12-variable vector is 36) are loose in their tails, and a model
    /// of a few minutes of a slowly wandering process raises false alarms early in monitoring
    /// that it then holds (it never learns a raised state). 150 rounds give each of the 5
    /// cross-validation blocks 30 rounds; a 50-member asset fits at 3 rounds per variable anyway.
    public static let minimumFirstFit = 150

    /// The lags a monitor of `dimension` members runs with: the configured ones, fewer if the
    /// vector would exceed `maximumWidth` or the complete baseline (`warmup`) would hold fewer
    /// than `roundsPerVariable` rounds per variable (down to none); nil when even the unlagged
    /// vector is too wide.
    public static func lags(for configuration: PCAConfiguration, dimension: Int) -> Int? {
        guard dimension >= 1, dimension <= maximumWidth else { return nil }
        let fitting = configuration.warmup / (roundsPerVariable * dimension) - 1
        return max(0, min(configuration.lags, maximumWidth / dimension - 1, fitting))
    }

    /// Baseline rounds at which the model is fitted first (without a named baseline period):
    /// `firstFitRoundsPerVariable` per variable, at least `minimumFirstFit`, at most `warmup`.
    public static func firstFit(width: Int, capacity: Int) -> Int {
        min(capacity, max(minimumFirstFit, firstFitRoundsPerVariable * width))
    }
    /// Contiguous blocks of the baseline for the empirical limits.
    public static let folds = 5

    public let configuration: PCAConfiguration
    /// Members per round.
    public let dimension: Int
    /// Lagged copies appended.
    public let lags: Int
    /// Variables of the monitored vector, `dimension × (lags + 1)`.
    public let width: Int
    /// Baseline rounds kept at most (`configuration.warmup`).
    public let capacity: Int
    /// Baseline rounds of the first fit (`firstFit(width:capacity:)`); the baseline then grows
    /// with in-control rounds and is refitted at twice, four times … that, and at `capacity`.
    public let firstFit: Int
    /// Whether the baseline is a named period (then it is fitted once, at the period's end).
    private var namedPeriod: Bool { configuration.baselineStart != nil || configuration.baselineEnd != nil }

    public private(set) var phase: Phase
    /// Rounds in the baseline buffer.
    public private(set) var baselineCount = 0
    /// Components retained (0 before the first fit).
    public private(set) var components = 0
    /// Limit of the (smoothed) T².
    public private(set) var t2Limit = 0.0
    /// Limit of the (smoothed) Q.
    public private(set) var qLimit = 0.0
    /// The last scored round's T² and Q, before smoothing.
    public private(set) var lastT2 = 0.0
    public private(set) var lastQ = 0.0
    /// The smoothed T² and Q the limits apply to.
    public private(set) var smoothedT2 = 0.0
    public private(set) var smoothedQ = 0.0
    /// Rounds fed (valid or not), rounds skipped for a non-finite value.
    public private(set) var rounds: UInt64 = 0
    public private(set) var skippedRounds: UInt64 = 0
    /// Model refreshes from the adapted statistics; baselines learned (1 after the first fit).
    public private(set) var refreshes: UInt64 = 0
    public private(set) var baselines: UInt64 = 0

    // Starting values of the smoothed statistics (the baseline means of the statistics).
    private var t2Start = 0.0
    private var qStart = 0.0
    private var inControlRounds = 0
    private var raisedRounds = 0
    private var historyNext = 0
    private var historyCount = 0
    /// The named baseline period has ended (used or given up).
    private var periodOver = false

    /// Every buffer of the monitor, in one allocation (`Layout` gives the offsets).
    private var arena: [Double]
    private let at: Layout
    private var solver: SymmetricEigensolver

    /// Offsets of the buffers in `arena`.
    private struct Layout: Sendable {
        var history = 0, x = 0, baseline = 0, mean = 0, scale = 0, basis = 0, eigen = 0, invSqrt = 0
        var partT = 0, partQ = 0, z = 0, r = 0, w = 0, t = 0, adMean = 0, adCov = 0, matrix = 0, work = 0
        var cvT2 = 0, cvQ = 0, colA = 0, colB = 0, total = 0

        init(m: Int, p: Int, n: Int, l: Int) {
            var o = 0
            func take(_ count: Int) -> Int {
                defer { o += count }
                return o
            }
            history = take((l + 1) * m)
            x = take(p)
            baseline = take(n * p)
            mean = take(p)
            scale = take(p)
            basis = take(p * p)
            eigen = take(p)
            invSqrt = take(p)
            partT = take(m)
            partQ = take(m)
            z = take(p)
            r = take(p)
            w = take(p)
            t = take(p)
            adMean = take(p)
            adCov = take(p * p)
            matrix = take(p * p)
            work = take(p * p)
            cvT2 = take(n)
            cvQ = take(n)
            colA = take(p)
            colB = take(p)
            total = o
        }
    }

    /// A monitor of `dimension` members (at most `maximumWidth`) that has learned nothing yet.
    public init(configuration: PCAConfiguration, dimension: Int) {
        precondition(dimension >= 1 && dimension <= Self.maximumWidth, "a PCA monitor takes 1...\(Self.maximumWidth) members")
        precondition(configuration.lags >= 0 && configuration.warmup >= 2 && configuration.updateEvery >= 1)
        precondition(configuration.alpha > 0 && configuration.alpha < 0.5)
        precondition(configuration.smoothing > 0 && configuration.smoothing <= 1)
        precondition(configuration.t2Factor >= 1)
        precondition(configuration.forgetting > 0 && configuration.forgetting <= 1)
        self.configuration = configuration
        self.dimension = dimension
        lags = Self.lags(for: configuration, dimension: dimension)!
        width = dimension * (lags + 1)
        capacity = configuration.warmup
        firstFit = Self.firstFit(width: width, capacity: capacity)
        at = Layout(m: dimension, p: width, n: capacity, l: lags)
        arena = Array(repeating: 0, count: at.total)
        solver = SymmetricEigensolver(capacity: width)
        phase = configuration.baselineStart != nil ? .waiting : .learning
    }

    /// Whether the monitor scores rounds (its baseline is learned).
    public var isMonitoring: Bool { phase == .monitoring }

    // MARK: Per round

    /// Feeds one round: `vector` holds the members' values in position order. Returns the score
    /// and evidence once monitoring; nil while waiting for or learning the baseline, for the
    /// first `lags` rounds, and for a skipped round (a non-finite value). `alertRaised` says
    /// whether the asset's PCA alert is raised before this round: then the model does not adapt.
    public mutating func update(timestamp: Int64, vector: UnsafeBufferPointer<Double>, alertRaised: Bool) -> DetectorOutput? {
        precondition(vector.count == dimension, "round of the wrong dimension")
        rounds &+= 1
        for v in vector where !v.isFinite {
            skippedRounds &+= 1
            return nil
        }
        let m = dimension, span = lags + 1
        let ready: Bool = arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let history = base + at.history
            (history + historyNext * m).update(from: vector.baseAddress!, count: m)
            historyNext = historyNext + 1 == span ? 0 : historyNext + 1
            if historyCount < span { historyCount += 1 }
            guard historyCount == span else { return false }
            // x = [v(t), v(t−1), …]: the newest is just before historyNext.
            let x = base + at.x
            for l in 0..<span {
                var slot = historyNext - 1 - l
                if slot < 0 { slot += span }
                (x + l * m).update(from: history + slot * m, count: m)
            }
            return true
        }
        guard ready else { return nil }

        switch phase {
        case .waiting:
            guard let start = configuration.baselineStart, timestamp < start else {
                phase = .learning
                return learn(timestamp: timestamp)
            }
            return nil
        case .learning:
            return learn(timestamp: timestamp)
        case .monitoring:
            if alertRaised {
                raisedRounds += 1
                if configuration.relearnAfter > 0, raisedRounds >= configuration.relearnAfter {
                    // A new operating point: learn it (the alert clears once it is in control).
                    raisedRounds = 0
                    phase = .learning
                    baselineCount = 0
                    return learn(timestamp: timestamp, named: false)
                }
            } else {
                raisedRounds = 0
            }
            let output = score()
            if !alertRaised, output.score < 1, !namedPeriod, baselineCount < capacity {
                // The baseline grows with in-control rounds (never a flagged or raised one) and is
                // refitted at each fit point: a short first baseline becomes a long one.
                arena.withUnsafeMutableBufferPointer { buf in
                    let base = buf.baseAddress!
                    (base + at.baseline + baselineCount * width).update(from: base + at.x, count: width)
                }
                baselineCount += 1
                if isFitPoint(baselineCount) {
                    fit(growing: true)
                    return output
                }
            }
            if !alertRaised, output.score < 1, configuration.forgetting < 1 {
                adapt()
                inControlRounds += 1
                if inControlRounds >= configuration.updateEvery {
                    inControlRounds = 0
                    refresh()
                }
            }
            return output
        }
    }

    /// Adds the current vector to the baseline; fits the model when it is complete. The first
    /// round at or after the end of a named period completes the baseline (and is scored) when it
    /// holds at least `minimumBaseline` rounds; otherwise the period is given up and the next
    /// `warmup` rounds are learned instead.
    private mutating func learn(timestamp: Int64, named: Bool = true) -> DetectorOutput? {
        if named, !periodOver, baselines == 0, let end = configuration.baselineEnd, timestamp >= end {
            periodOver = true
            if baselineCount >= min(Self.minimumBaseline, capacity) {
                fit()
                return score()
            }
            baselineCount = 0
        }
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            (base + at.baseline + baselineCount * width).update(from: base + at.x, count: width)
        }
        baselineCount += 1
        if baselineCount == capacity || (!namedPeriod && baselineCount == firstFit) { fit() }
        return nil
    }

    /// Whether `count` baseline rounds is a point at which the growing baseline is refitted:
    /// `firstFit` times a power of two, or `capacity`.
    private func isFitPoint(_ count: Int) -> Bool {
        guard count < capacity else { return count == capacity }
        guard count % firstFit == 0 else { return false }
        let multiple = count / firstFit
        return multiple & (multiple - 1) == 0
    }

    /// T², Q, the smoothed statistics, the members' parts and the evidence of the current vector.
    private mutating func score() -> DetectorOutput {
        let m = dimension, p = width, k = components
        let beta = configuration.smoothing
        var evidence = PCAEvidence(t2: 0, t2Limit: t2Limit, q: 0, qLimit: qLimit)
        let (t2, q) = arena.withUnsafeMutableBufferPointer { buf -> (Double, Double) in
            let base = buf.baseAddress!
            let x = base + at.x, mean = base + at.mean, scale = base + at.scale
            let z = base + at.z, r = base + at.r, w = base + at.w, t = base + at.t
            let basis = base + at.basis, eigen = base + at.eigen, invSqrt = base + at.invSqrt
            for i in 0..<p {
                let v = (x[i] - mean[i]) / scale[i]
                z[i] = v
                r[i] = v
                w[i] = 0
            }
            var t2 = 0.0
            for a in 0..<k {
                let s = VectorKernels.dot(basis + a * p, z, p)
                t[a] = s
                t2 += s * s / eigen[a]
            }
            for a in 0..<k {
                VectorKernels.subtractAdd(r, t[a], w, t[a] * invSqrt[a], basis + a * p, p)
            }
            let q = VectorKernels.dot(r, r, p)
            // Members' parts (summed over lags), smoothed like the statistics.
            let partT = base + at.partT, partQ = base + at.partQ
            var sumT = 0.0, sumQ = 0.0
            for j in 0..<m {
                var ct = 0.0, cq = 0.0
                var i = j
                while i < p {
                    ct += w[i] * w[i]
                    cq += r[i] * r[i]
                    i += m
                }
                partT[j] = (1 - beta) * partT[j] + beta * ct
                partQ[j] = (1 - beta) * partQ[j] + beta * cq
                sumT += partT[j]
                sumQ += partQ[j]
            }
            // The three largest parts of the normalised statistics.
            var best: (Int, Int, Int) = (-1, -1, -1)
            var bestValue: (Double, Double, Double) = (-1, -1, -1)
            for j in 0..<m {
                let v = partT[j] / t2Limit + partQ[j] / qLimit
                if v > bestValue.0 {
                    best = (j, best.0, best.1)
                    bestValue = (v, bestValue.0, bestValue.1)
                } else if v > bestValue.1 {
                    best = (best.0, j, best.1)
                    bestValue = (bestValue.0, v, bestValue.1)
                } else if v > bestValue.2 {
                    best.2 = j
                    bestValue.2 = v
                }
            }
            func contribution(_ j: Int) -> PCAContribution {
                guard j >= 0 else { return .none }
                return PCAContribution(position: Int32(j), t2Share: Float(sumT > 0 ? partT[j] / sumT : 0),
                                       qShare: Float(sumQ > 0 ? partQ[j] / sumQ : 0), z: Float(z[j]))
            }
            evidence.first = contribution(best.0)
            evidence.second = contribution(best.1)
            evidence.third = contribution(best.2)
            return (t2, q)
        }
        lastT2 = t2
        lastQ = q
        smoothedT2 = (1 - beta) * smoothedT2 + beta * t2
        smoothedQ = (1 - beta) * smoothedQ + beta * q
        evidence.t2 = smoothedT2
        evidence.q = smoothedQ
        let s = max(smoothedT2 / t2Limit, smoothedQ / qLimit)
        return DetectorOutput(score: s.isFinite ? s : .greatestFiniteMagnitude, evidence: .pca(evidence))
    }

    /// Folds the current vector into the exponentially weighted mean and covariance.
    private mutating func adapt() {
        let p = width
        let lambda = configuration.forgetting
        let gain = 1 - lambda
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let x = base + at.x, mean = base + at.adMean, cov = base + at.adCov, d = base + at.colA
            for i in 0..<p {
                let v = x[i] - mean[i]
                d[i] = v
                mean[i] += gain * v
            }
            // C ← λ (C + (1 − λ) d dᵀ), upper triangle.
            let f = lambda * gain
            for i in 0..<p {
                VectorKernels.scaleAdd(cov + i * p + i, lambda, f * d[i], d + i, p - i)
            }
        }
    }
}

// MARK: - Fitting

extension PCAMonitor {
    /// Fits the model, the limits and the adaptation state to the `baselineCount` rounds of the
    /// baseline, and starts monitoring. `growing`: a refit of the grown baseline (the smoothed
    /// statistics carry on; not counted as a new baseline).
    private mutating func fit(growing: Bool = false) {
        let n = baselineCount, p = width
        let folds = min(Self.folds, n / 2)
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let data = base + at.baseline
            let mean = base + at.mean, scale = base + at.scale
            let total = base + at.adCov, matrix = base + at.matrix
            Self.moments(data, rows: 0..<n, width: p, center: nil, mean: mean, scatter: total)
            Self.correlation(total, count: n, width: p, scale: scale, into: matrix)
        }
        decompose(order: p, start: false)
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let basis = base + at.basis, eigen = base + at.eigen
            solver.vectors.withUnsafeBufferPointer { basis.update(from: $0.baseAddress!, count: p * p) }
            solver.values.withUnsafeBufferPointer { eigen.update(from: $0.baseAddress!, count: p) }
        }
        components = chooseComponents(rows: n)
        setInverseRoots()
        switch configuration.limits {
        case .empirical where folds >= 2:
            empiricalLimits(folds: folds)
        default:
            theoreticalLimits(rows: n)
        }
        // T² counts against a multiple of its limit (`PCAConfiguration.t2Factor`); the limit the
        // score, the evidence and the contributions use is that multiple.
        t2Limit = min(t2Limit * configuration.t2Factor, .greatestFiniteMagnitude)
        // The adaptation starts from the baseline's mean and covariance.
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let mean = base + at.mean, adMean = base + at.adMean, cov = base + at.adCov
            adMean.update(from: mean, count: p)
            let f = 1 / Double(max(n - 1, 1))
            for i in 0..<(p * p) { cov[i] *= f }
            let partT = base + at.partT, partQ = base + at.partQ
            for j in 0..<dimension {
                partT[j] = 0
                partQ[j] = 0
            }
        }
        if !growing {
            smoothedT2 = t2Start
            smoothedQ = qStart
            baselines &+= 1
        }
        inControlRounds = 0
        raisedRounds = 0
        phase = .monitoring
    }

    /// Mean and scatter matrix `Σ (x − mean)(x − mean)ᵀ` (full, symmetric) of `rows` of `data`.
    private static func moments(_ data: UnsafeMutablePointer<Double>, rows: Range<Int>, width p: Int,
                                center: UnsafeMutablePointer<Double>?, mean: UnsafeMutablePointer<Double>,
                                scatter: UnsafeMutablePointer<Double>) {
        let n = Double(rows.count)
        for i in 0..<p { mean[i] = 0 }
        for row in rows {
            let x = data + row * p
            for i in 0..<p { mean[i] += x[i] }
        }
        for i in 0..<p { mean[i] /= n }
        for i in 0..<(p * p) { scatter[i] = 0 }
        for row in rows {
            let x = data + row * p
            for i in 0..<p {
                let di = x[i] - mean[i]
                let out = scatter + i * p
                for j in i..<p { out[j] += di * (x[j] - mean[j]) }
            }
        }
        for i in 0..<p {
            for j in (i + 1)..<p { scatter[j * p + i] = scatter[i * p + j] }
        }
    }

    /// Standard deviations (floored) of a covariance `scatter / (count − 1)` into `scale`, and the
    /// correlation matrix into `out` (full).
    private static func correlation(_ scatter: UnsafeMutablePointer<Double>, count: Int, width p: Int,
                                    scale: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        let f = 1 / Double(max(count - 1, 1))
        for i in 0..<p {
            let v = scatter[i * p + i] * f
            // A variable that did not move in the baseline keeps a tiny scale: any later motion
            // of it is then (rightly) far outside the model.
            scale[i] = max(v > 0 ? v.squareRoot() : 0, 1e-9)
        }
        for i in 0..<p {
            for j in i..<p {
                let c = scatter[i * p + j] * f / (scale[i] * scale[j])
                out[i * p + j] = c
                out[j * p + i] = c
            }
        }
    }

    /// Decomposes the first `order`² of `matrix` (row-major) with the solver; with `start`, from the
    /// basis' first `order` rows (the full basis when `order == width`), for at most `sweeps`.
    private mutating func decompose(order: Int, start: Bool, sweeps: Int = 3) {
        let p = width
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let matrix = UnsafeBufferPointer(start: base + at.matrix, count: order * order)
            let basis = UnsafeBufferPointer(start: base + at.basis, count: p * p)
            // From a nearby basis (a fold, a refresh) a few sweeps to 1e-9 relative suffice.
            if start {
                solver.decompose(matrix, order: order, start: basis, maximumSweeps: sweeps, tolerance: 1e-18)
            } else {
                solver.decompose(matrix, order: order)
            }
        }
    }

    private mutating func setInverseRoots() {
        let k = components
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let eigen = base + at.eigen, invSqrt = base + at.invSqrt
            let floor = max(eigen[0], 1) * 1e-12
            for a in 0..<k {
                eigen[a] = max(eigen[a], floor)
                invSqrt[a] = 1 / eigen[a].squareRoot()
            }
        }
    }

    /// The number of components, from the full decomposition in `basis`/`eigen`, for `rows`
    /// baseline rounds. At least 1, at most `width − 1` and `rows − 2`, and never a component
    /// with a negligible eigenvalue.
    private mutating func chooseComponents(rows n: Int) -> Int {
        let p = width
        guard p >= 2 else { return 1 }
        return arena.withUnsafeMutableBufferPointer { buf -> Int in
            let base = buf.baseAddress!
            let eigen = base + at.eigen, basis = base + at.basis
            let floor = max(eigen[0], 0) * 1e-10
            var limit = max(1, min(p - 1, n - 2))
            while limit > 1 && eigen[limit - 1] <= floor { limit -= 1 }
            switch configuration.components {
            case .count(let c):
                return max(1, min(c, limit))
            case .variance(let fraction):
                var total = 0.0
                for j in 0..<p { total += max(eigen[j], 0) }
                var sum = 0.0
                for j in 0..<limit {
                    sum += max(eigen[j], 0)
                    if sum >= fraction * total { return j + 1 }
                }
                return limit
            case .auto:
                // Variance of the reconstruction error (Qin & Dunia 2000): for k components,
                // uᵢ = Σ_{j≥k} λⱼ vⱼᵢ² / (Σ_{j≥k} vⱼᵢ²)², summed over the variables; the sums over
                // the residual directions are accumulated from the last component down.
                let num = base + at.colA, den = base + at.colB
                for i in 0..<p {
                    num[i] = 0
                    den[i] = 0
                }
                var bestK = 1
                var bestValue = Double.infinity
                var j = p - 1
                while j >= 1 {
                    let row = basis + j * p
                    let lj = max(eigen[j], 0)
                    var vre = 0.0
                    for i in 0..<p {
                        let v2 = row[i] * row[i]
                        num[i] += lj * v2
                        den[i] += v2
                        vre += den[i] > 1e-12 ? num[i] / (den[i] * den[i]) : .infinity
                    }
                    // After adding component j, the sums are those of k = j components.
                    if j <= limit, vre <= bestValue {
                        bestValue = vre
                        bestK = j
                    }
                    j -= 1
                }
                return bestK
            }
        }
    }

    /// Limits from the F distribution (T²) and Jackson–Mudholkar (Q); with smoothing, Box's
    /// scaled chi-square with the variance of the smoothed statistic (rounds taken as independent).
    private mutating func theoreticalLimits(rows n: Int) {
        let p = width, k = components
        let alpha = configuration.alpha, beta = configuration.smoothing
        var theta = (0.0, 0.0, 0.0)
        // The residual eigenvalues are those of the full decomposition (still in the solver).
        for j in k..<p {
            let l = max(solver.values[j], 0)
            theta.0 += l
            theta.1 += l * l
            theta.2 += l * l * l
        }
        let nd = Double(n), kd = Double(k)
        let reduction = beta / (2 - beta)  // variance of an EWMA of independent rounds
        if beta >= 1 {
            t2Limit = n > k + 1
                ? kd * (nd - 1) * (nd + 1) / (nd * (nd - kd)) * Distributions.fQuantile(1 - alpha, d1: kd, d2: nd - kd)
                : Distributions.chiSquareQuantile(1 - alpha, degreesOfFreedom: kd)
            qLimit = Distributions.jacksonMudholkarLimit(theta1: theta.0, theta2: theta.1, theta3: theta.2, alpha: alpha)
        } else {
            t2Limit = Distributions.boxLimit(mean: kd, variance: 2 * kd * reduction, alpha: alpha)
            qLimit = Distributions.boxLimit(mean: theta.0, variance: 2 * theta.1 * reduction, alpha: alpha)
        }
        t2Start = kd
        qStart = theta.0
        if !(qLimit > 0) { qLimit = 1e-12 }
        if !(t2Limit > 0) { t2Limit = 1e-12 }
    }

    /// Limits from the baseline by contiguous-block cross-validation (see the type's comment).
    /// The scatter matrix of the whole baseline is in `adCov`, its mean in `mean`, the full
    /// decomposition in `basis`.
    private mutating func empiricalLimits(folds: Int) {
        let n = baselineCount, p = width, k = components
        let beta = configuration.smoothing
        for f in 0..<folds {
            let lower = f * n / folds, upper = (f + 1) * n / folds
            // The model of the other blocks: its mean (colA), scale (colB), correlation (matrix).
            arena.withUnsafeMutableBufferPointer { buf in
                let base = buf.baseAddress!
                let data = base + at.baseline, mean = base + at.mean, total = base + at.adCov
                let matrix = base + at.matrix, foldMean = base + at.colA, foldScale = base + at.colB
                let work = base + at.work
                // The block's own scatter about the whole mean, into matrix; its sum into foldMean.
                for i in 0..<p { foldMean[i] = 0 }
                for i in 0..<(p * p) { matrix[i] = 0 }
                for row in lower..<upper {
                    let x = data + row * p
                    for i in 0..<p {
                        let di = x[i] - mean[i]
                        foldMean[i] += di
                        let out = matrix + i * p
                        for j in i..<p { out[j] += di * (x[j] - mean[j]) }
                    }
                }
                // The rest: sum −s, count n_r, mean μ + δ with δ = −s/n_r; scatter about its own
                // mean: S − S_block − n_r δ δᵀ.
                let nr = Double(n - (upper - lower))
                for i in 0..<p { foldMean[i] = -foldMean[i] / nr }  // δ
                for i in 0..<p {
                    for j in i..<p {
                        let s = total[i * p + j] - matrix[i * p + j] - nr * foldMean[i] * foldMean[j]
                        work[i * p + j] = s
                        work[j * p + i] = s
                    }
                }
                for i in 0..<p { foldMean[i] += mean[i] }
                Self.correlation(work, count: n - (upper - lower), width: p, scale: foldScale, into: matrix)
            }
            decompose(order: p, start: true)
            // Score the block with that model.
            arena.withUnsafeMutableBufferPointer { buf in
                let base = buf.baseAddress!
                let data = base + at.baseline, foldMean = base + at.colA, foldScale = base + at.colB
                let z = base + at.z, cvT2 = base + at.cvT2, cvQ = base + at.cvQ
                solver.vectors.withUnsafeBufferPointer { vb in
                    solver.values.withUnsafeBufferPointer { values in
                        let vectors = vb.baseAddress!
                        let floor = max(values[0], 1) * 1e-12
                        for row in lower..<upper {
                            let x = data + row * p
                            var zz = 0.0
                            for i in 0..<p {
                                let v = (x[i] - foldMean[i]) / foldScale[i]
                                z[i] = v
                                zz += v * v
                            }
                            var t2 = 0.0, explained = 0.0
                            for a in 0..<k {
                                let s = VectorKernels.dot(vectors + a * p, z, p)
                                t2 += s * s / max(values[a], floor)
                                explained += s * s
                            }
                            let q = zz - explained
                            cvT2[row] = t2.isFinite ? t2 : .greatestFiniteMagnitude
                            cvQ[row] = q.isFinite ? max(q, 0) : .greatestFiniteMagnitude
                        }
                    }
                }
            }
        }
        // Smooth each block's sequence as monitoring does, from the overall means; then quantiles.
        let alpha = configuration.alpha
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let cvT2 = base + at.cvT2, cvQ = base + at.cvQ
            var meanT2 = 0.0, meanQ = 0.0
            for i in 0..<n {
                meanT2 += cvT2[i]
                meanQ += cvQ[i]
            }
            meanT2 /= Double(n)
            meanQ /= Double(n)
            t2Start = meanT2
            qStart = meanQ
            for f in 0..<folds {
                var st = meanT2, sq = meanQ
                for row in (f * n / folds)..<((f + 1) * n / folds) {
                    st = (1 - beta) * st + beta * cvT2[row]
                    sq = (1 - beta) * sq + beta * cvQ[row]
                    cvT2[row] = st
                    cvQ[row] = sq
                }
            }
            // The tail from the statistics' moments (Box's scaled chi-square, g·χ²_h with
            // g = v/2m, h = 2m²/v): an order statistic at 1 − α of a few hundred autocorrelated
            // rounds rests on a handful of them; the mean and variance use every round.
            func limit(_ v: UnsafeMutablePointer<Double>) -> Double {
                var mean = 0.0, sum = 0.0
                for i in 0..<n { mean += v[i] }
                mean /= Double(n)
                for i in 0..<n { sum += (v[i] - mean) * (v[i] - mean) }
                let l = Distributions.boxLimit(mean: mean, variance: sum / Double(max(n - 1, 1)), alpha: alpha)
                return l.isFinite ? max(l, 1e-12) : .greatestFiniteMagnitude
            }
            t2Limit = limit(cvT2)
            qLimit = limit(cvQ)
        }
    }

    /// The `probability` quantile of `count` values (linear interpolation between order
    /// statistics, "type 7"); reorders the values in place (quickselect, no allocation).
    static func quantile(_ values: UnsafeMutablePointer<Double>, count n: Int, _ probability: Double) -> Double {
        precondition(n >= 1)
        let h = Double(n - 1) * probability
        let lowerIndex = Int(h.rounded(.down))
        let low = select(values, count: n, lowerIndex)
        guard lowerIndex + 1 < n else { return low }
        // The next order statistic is the smallest of the part above lowerIndex.
        var high = values[lowerIndex + 1]
        for i in (lowerIndex + 1)..<n where values[i] < high { high = values[i] }
        return low + (h - Double(lowerIndex)) * (high - low)
    }

    /// Hoare's quickselect: the `k`-th smallest (0-based), leaving smaller values before it and
    /// larger after it.
    private static func select(_ a: UnsafeMutablePointer<Double>, count n: Int, _ k: Int) -> Double {
        var lo = 0, hi = n - 1
        while lo < hi {
            // Median of three as the pivot.
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { swap(&a[mid], &a[lo]) }
            if a[hi] < a[lo] { swap(&a[hi], &a[lo]) }
            if a[hi] < a[mid] { swap(&a[hi], &a[mid]) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    swap(&a[i], &a[j])
                    i += 1
                    j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }
}

// MARK: - Refresh

extension PCAMonitor {
    /// Refreshes the model from the adapted mean and covariance: their correlation matrix is
    /// decomposed by Jacobi sweeps started from the current eigenvectors (one or two sweeps, the
    /// matrix having changed little), keeping the number of components and the limits.
    private mutating func refresh() {
        let p = width
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            let cov = base + at.adCov, matrix = base + at.matrix, scale = base + at.colB
            // Correlation of the adapted covariance (upper triangle maintained) into matrix.
            for i in 0..<p {
                let v = cov[i * p + i]
                scale[i] = max(v > 0 ? v.squareRoot() : 0, 1e-9)
            }
            for i in 0..<p {
                for j in i..<p {
                    let c = cov[i * p + j] / (scale[i] * scale[j])
                    matrix[i * p + j] = c
                    matrix[j * p + i] = c
                }
            }
        }
        // One sweep: the refreshes chain, each starting from the last one's eigenvectors, so what
        // one sweep leaves (quadratically small) the next one removes.
        decompose(order: p, start: true, sweeps: 1)
        arena.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            solver.vectors.withUnsafeBufferPointer { (base + at.basis).update(from: $0.baseAddress!, count: p * p) }
            solver.values.withUnsafeBufferPointer { (base + at.eigen).update(from: $0.baseAddress!, count: p) }
            (base + at.mean).update(from: base + at.adMean, count: p)
            (base + at.scale).update(from: base + at.colB, count: p)
        }
        setInverseRoots()
        refreshes &+= 1
    }
}

// MARK: - Inspection (tests and tools; allocates)

extension PCAMonitor {
    /// The model's mean and scale per variable, retained components (rows) and their variances.
    public var model: (mean: [Double], scale: [Double], components: [[Double]], variances: [Double]) {
        let p = width, k = components
        return (Array(arena[at.mean..<(at.mean + p)]), Array(arena[at.scale..<(at.scale + p)]),
                (0..<k).map { Array(arena[(at.basis + $0 * p)..<(at.basis + ($0 + 1) * p)]) },
                Array(arena[at.eigen..<(at.eigen + k)]))
    }

    /// The members' smoothed parts of T² and Q.
    public var parts: (t2: [Double], q: [Double]) {
        (Array(arena[at.partT..<(at.partT + dimension)]), Array(arena[at.partQ..<(at.partQ + dimension)]))
    }
}

// MARK: - Snapshot

extension PCAMonitor {
    /// Writes the exact state (lag history, baseline buffer, model, limits, smoothed statistics,
    /// adaptation state, counters) for `init(configuration:dimension:restoringFrom:)`, so that a
    /// restored monitor continues bit for bit.
    public func write(to w: inout SnapshotWriter) {
        let m = dimension, p = width
        w.write(m)
        w.write(lags)
        w.write(capacity)
        w.write(phase.rawValue)
        w.write(rounds)
        w.write(skippedRounds)
        w.write(refreshes)
        w.write(baselines)
        w.write(historyNext)
        w.write(historyCount)
        w.write(periodOver)
        w.write(Array(arena[at.history..<(at.history + (lags + 1) * m)]))
        w.write(baselineCount)
        w.write(Array(arena[at.baseline..<(at.baseline + baselineCount * p)]))
        let hasModel = baselines > 0
        w.write(hasModel)
        guard hasModel else { return }
        let k = components
        w.write(k)
        w.write(Array(arena[at.mean..<(at.mean + p)]))
        w.write(Array(arena[at.scale..<(at.scale + p)]))
        // Every eigenvector and eigenvalue: the next refresh starts from them.
        w.write(Array(arena[at.basis..<(at.basis + p * p)]))
        w.write(Array(arena[at.eigen..<(at.eigen + p)]))
        w.write(t2Limit)
        w.write(qLimit)
        w.write(t2Start)
        w.write(qStart)
        w.write(lastT2)
        w.write(lastQ)
        w.write(smoothedT2)
        w.write(smoothedQ)
        w.write(Array(arena[at.partT..<(at.partT + m)]))
        w.write(Array(arena[at.partQ..<(at.partQ + m)]))
        w.write(Array(arena[at.adMean..<(at.adMean + p)]))
        var upper: [Double] = []
        upper.reserveCapacity(p * (p + 1) / 2)
        for i in 0..<p { upper.append(contentsOf: arena[(at.adCov + i * p + i)..<(at.adCov + (i + 1) * p)]) }
        w.write(upper)
        w.write(inControlRounds)
        w.write(raisedRounds)
    }

    /// A monitor restored from what `write(to:)` wrote with the same configuration and dimension.
    /// Throws `SnapshotError` when the record does not fit (every read is bounds-checked; counts,
    /// positions and values are validated).
    public init(configuration: PCAConfiguration, dimension: Int, restoringFrom r: inout SnapshotReader) throws(SnapshotError) {
        self.init(configuration: configuration, dimension: dimension)
        let m = dimension, p = width
        let storedM = try r.readInt("pca dimension")
        let storedL = try r.readInt("pca lags")
        let storedN = try r.readInt("pca baseline capacity")
        guard storedM == m, storedL == lags, storedN == capacity else {
            throw r.corrupt("pca monitor of \(storedM) members, \(storedL) lags, \(storedN) baseline rounds; expected \(m), \(lags), \(capacity)")
        }
        let phaseByte = try r.readUInt8("pca phase")
        guard let phase = Phase(rawValue: phaseByte) else { throw r.corrupt("pca phase \(phaseByte)") }
        let rounds = try r.readUInt64("pca rounds")
        let skipped = try r.readUInt64("pca skipped rounds")
        let refreshes = try r.readUInt64("pca refreshes")
        let baselines = try r.readUInt64("pca baselines")
        let historyNext = try r.readInt("pca history next", in: 0...lags)
        let historyCount = try r.readInt("pca history count", in: 0...(lags + 1))
        let periodOver = try r.readBool("pca baseline period over")
        let history = try r.readDoubles("pca history", count: (lags + 1) * m)
        let baselineCount = try r.readInt("pca baseline count", in: 0...capacity)
        guard r.remaining >= 4 + 8 * baselineCount * p else {
            throw r.corrupt("pca baseline of \(baselineCount) rounds does not fit in \(r.remaining) bytes")
        }
        let baseline = try r.readDoubles("pca baseline", count: baselineCount * p)
        guard history.allSatisfy(\.isFinite), baseline.allSatisfy(\.isFinite) else {
            throw r.corrupt("pca history or baseline holds a non-finite value")
        }
        guard historyCount == lags + 1 || historyNext == historyCount else {
            throw r.corrupt("pca history position \(historyNext) with \(historyCount) rounds")
        }
        let hasModel = try r.readBool("pca model present")
        guard hasModel == (baselines > 0), phase != .monitoring || hasModel,
              phase == .monitoring || baselineCount < capacity else {
            throw r.corrupt("pca phase \(phase) with \(baselines) baselines and \(baselineCount) rounds learned")
        }
        self.phase = phase
        self.rounds = rounds
        self.skippedRounds = skipped
        self.refreshes = refreshes
        self.baselines = baselines
        self.historyNext = historyNext
        self.historyCount = historyCount
        self.periodOver = periodOver
        self.baselineCount = baselineCount
        let at = self.at
        arena.withUnsafeMutableBufferPointer { buf in
            for (i, v) in history.enumerated() { buf[at.history + i] = v }
            for (i, v) in baseline.enumerated() { buf[at.baseline + i] = v }
        }
        guard hasModel else { return }
        let k = try r.readInt("pca components", in: 1...max(1, p - 1))
        let mean = try r.readDoubles("pca mean", count: p)
        let scale = try r.readDoubles("pca scale", count: p)
        let basis = try r.readDoubles("pca components", count: p * p)
        let eigen = try r.readDoubles("pca variances", count: p)
        let t2Limit = try r.readFinite("pca T² limit")
        let qLimit = try r.readFinite("pca Q limit")
        let t2Start = try r.readFinite("pca T² start")
        let qStart = try r.readFinite("pca Q start")
        let lastT2 = try r.readDouble("pca last T²")
        let lastQ = try r.readDouble("pca last Q")
        let smoothedT2 = try r.readFinite("pca smoothed T²")
        let smoothedQ = try r.readFinite("pca smoothed Q")
        let partT = try r.readDoubles("pca T² parts", count: m)
        let partQ = try r.readDoubles("pca Q parts", count: m)
        let adMean = try r.readDoubles("pca adapted mean", count: p)
        let upper = try r.readDoubles("pca adapted covariance", count: p * (p + 1) / 2)
        let inControl = try r.readInt("pca in-control rounds", in: 0...SnapshotReader.maxCounter)
        let raised = try r.readInt("pca raised rounds", in: 0...SnapshotReader.maxCounter)
        guard [mean, basis, partT, partQ, adMean, upper].allSatisfy({ $0.allSatisfy(\.isFinite) }),
              scale.allSatisfy({ $0.isFinite && $0 > 0 }), eigen.allSatisfy(\.isFinite), eigen.prefix(k).allSatisfy({ $0 > 0 }),
              t2Limit > 0, qLimit > 0 else {
            throw r.corrupt("pca model holds a non-finite or non-positive value")
        }
        components = k
        self.t2Limit = t2Limit
        self.qLimit = qLimit
        self.t2Start = t2Start
        self.qStart = qStart
        self.lastT2 = lastT2
        self.lastQ = lastQ
        self.smoothedT2 = smoothedT2
        self.smoothedQ = smoothedQ
        inControlRounds = inControl
        raisedRounds = raised
        arena.withUnsafeMutableBufferPointer { buf in
            func put(_ values: [Double], _ offset: Int) {
                for (i, v) in values.enumerated() { buf[offset + i] = v }
            }
            put(mean, at.mean)
            put(scale, at.scale)
            put(basis, at.basis)
            put(eigen, at.eigen)
            put(partT, at.partT)
            put(partQ, at.partQ)
            put(adMean, at.adMean)
            var u = 0
            for i in 0..<p {
                for j in i..<p {
                    buf[at.adCov + i * p + j] = upper[u]
                    u += 1
                }
            }
        }
        setInverseRoots()
    }
}
