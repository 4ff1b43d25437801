// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// Gaussian-process regression over the optimiser's points: the surrogate model of
/// `BayesianOptimizer`.
///
/// Kernel: Matérn 5/2 with one length scale per dimension (automatic relevance determination);
/// a continuous coordinate contributes `(Δ/ℓ)²` to the squared distance, a categorical one
/// `1/ℓ²` when the categories differ. Observations are standardised (mean 0, deviation 1) and
/// modelled with a small noise term, which also absorbs the plateaus of step-like objectives
/// such as an F1 score. Hyperparameters (length scales, signal and noise variance, in logs) are
/// the maximum a posteriori under weak log-normal priors, found by a deterministic pattern
/// search from the prior's centre and from a warm start.
///
/// Threading: an immutable value.
struct GaussianProcess: Sendable {
    /// The kernel's parameters, in logs.
    struct Hyperparameters: Sendable, Equatable {
        var logLengthScales: [Double]
        var logSignalVariance: Double
        var logNoiseVariance: Double

        /// The priors' centre.
        init(dimensions: Int) {
            logLengthScales = [Double](repeating: Self.lengthPrior.mean, count: dimensions)
            logSignalVariance = Self.signalPrior.mean
            logNoiseVariance = Self.noisePrior.mean
        }

        init(vector v: [Double]) {
            logLengthScales = Array(v.dropLast(2))
            logSignalVariance = v[v.count - 2]
            logNoiseVariance = v[v.count - 1]
        }

        var vector: [Double] { logLengthScales + [logSignalVariance, logNoiseVariance] }

        /// Log-normal priors (mean and deviation of the log) and bounds of the logs. Coordinates
        /// lie in [0, 1] and observations are standardised, so the scales are known in advance.
        static let lengthPrior = (mean: log(0.5), deviation: 1.0, lower: log(0.01), upper: log(10.0))
        static let signalPrior = (mean: 0.0, deviation: 1.0, lower: log(0.05), upper: log(20.0))
        static let noisePrior = (mean: log(1e-3), deviation: 2.0, lower: log(1e-6), upper: log(0.5))

        static func bounds(dimensions: Int) -> [(lower: Double, upper: Double)] {
            [(Double, Double)](repeating: (lengthPrior.lower, lengthPrior.upper), count: dimensions)
                + [(signalPrior.lower, signalPrior.upper), (noisePrior.lower, noisePrior.upper)]
        }

        /// Log prior density (up to a constant).
        var logPrior: Double {
            func term(_ x: Double, _ p: (mean: Double, deviation: Double, lower: Double, upper: Double)) -> Double {
                let z = (x - p.mean) / p.deviation
                return -0.5 * z * z
            }
            return logLengthScales.reduce(0) { $0 + term($1, Self.lengthPrior) }
                + term(logSignalVariance, Self.signalPrior) + term(logNoiseVariance, Self.noisePrior)
        }
    }

    /// Which coordinates are categories (compared for equality) rather than numbers in [0, 1].
    let categorical: [Bool]
    let points: [[Double]]
    /// `points` row after row.
    private let flatPoints: [Double]
    let hyperparameters: Hyperparameters
    /// Standardisation of the observations: `(y - offset) / scale`.
    let offset: Double
    let scale: Double
    private let factor: CholeskyFactor
    private let alpha: [Double]
    private let inverseSquaredLengths: [Double]
    private let signalVariance: Double
    /// Log marginal likelihood plus log prior of the hyperparameters.
    let logPosterior: Double

    /// The model of `values` at `points` with `hyperparameters`; nil when the kernel matrix is
    /// not positive definite.
    init?(points: [[Double]], values: [Double], categorical: [Bool], hyperparameters: Hyperparameters) {
        precondition(points.count == values.count && !points.isEmpty)
        let n = points.count
        let mean = values.reduce(0, +) / Double(n)
        var variance = 0.0
        for v in values { variance += (v - mean) * (v - mean) }
        variance /= Double(n)
        let deviation = variance.squareRoot()
        self.offset = mean
        self.scale = deviation > 1e-12 * max(1, abs(mean)) ? deviation : 1
        self.categorical = categorical
        self.points = points
        self.hyperparameters = hyperparameters
        self.inverseSquaredLengths = hyperparameters.logLengthScales.map { exp(-2 * $0) }
        self.signalVariance = exp(hyperparameters.logSignalVariance)
        let noise = exp(hyperparameters.logNoiseVariance)
        let d = categorical.count
        var flat = [Double]()
        flat.reserveCapacity(n * d)
        for p in points { flat += p }
        self.flatPoints = flat
        var k = [Double](repeating: 0, count: n * n)
        let lengths = inverseSquaredLengths, sigma2 = signalVariance
        k.withUnsafeMutableBufferPointer { k in
            flat.withUnsafeBufferPointer { x in
                lengths.withUnsafeBufferPointer { l in
                    categorical.withUnsafeBufferPointer { c in
                        for i in 0..<n {
                            for j in 0...i {
                                let v = Self.kernel(x.baseAddress! + i * d, x.baseAddress! + j * d, d, l, sigma2, c)
                                k[i * n + j] = v
                                k[j * n + i] = v
                            }
                            k[i * n + i] += noise
                        }
                    }
                }
            }
        }
        guard let factor = CholeskyFactor(k, n: n) else { return nil }
        self.factor = factor
        let offset = self.offset, scale = self.scale
        let y = values.map { ($0 - offset) / scale }
        alpha = factor.solve(y)
        var fit = 0.0
        for i in 0..<n { fit += y[i] * alpha[i] }
        logPosterior = -0.5 * fit - 0.5 * factor.logDeterminant - 0.5 * Double(n) * log(2 * Double.pi)
            + hyperparameters.logPrior
    }

    /// The model with maximum a posteriori hyperparameters, searched from the priors' centre and
    /// from `warmStart` (the previous fit's).
    static func fitted(points: [[Double]], values: [Double], categorical: [Bool],
                       warmStart: Hyperparameters? = nil) -> GaussianProcess {
        let d = categorical.count
        let bounds = Hyperparameters.bounds(dimensions: d)
        func posterior(_ v: [Double]) -> Double {
            GaussianProcess(points: points, values: values, categorical: categorical,
                            hyperparameters: Hyperparameters(vector: v))?.logPosterior ?? -.infinity
        }
        var starts = [Hyperparameters(dimensions: d).vector]
        if let warmStart, warmStart.logLengthScales.count == d { starts.append(warmStart.vector) }
        var best: (vector: [Double], value: Double)?
        for start in starts {
            let found = PatternSearch.maximize(posterior, from: start, bounds: bounds, step: 1, minimumStep: 0.1,
                                               maxEvaluations: 30 * (d + 2))
            if best == nil || found.value > best!.value { best = found }
        }
        if let best, best.value > -.infinity,
           let model = GaussianProcess(points: points, values: values, categorical: categorical,
                                       hyperparameters: Hyperparameters(vector: best.vector)) {
            return model
        }
        // Nothing factored: the noisiest model always does.
        var h = Hyperparameters(dimensions: d)
        h.logNoiseVariance = Hyperparameters.noisePrior.upper
        return GaussianProcess(points: points, values: values, categorical: categorical, hyperparameters: h)!
    }

    /// `y` in the model's standardised units.
    func standardized(_ y: Double) -> Double { (y - offset) / scale }

    /// The posterior mean and deviation at `x`, in standardised units.
    func predict(_ x: [Double]) -> (mean: Double, deviation: Double) {
        let n = points.count, d = categorical.count
        precondition(x.count == d)
        var k = [Double](repeating: 0, count: n)
        var mean = 0.0
        k.withUnsafeMutableBufferPointer { k in
            x.withUnsafeBufferPointer { x in
                flatPoints.withUnsafeBufferPointer { p in
                    inverseSquaredLengths.withUnsafeBufferPointer { l in
                        categorical.withUnsafeBufferPointer { c in
                            alpha.withUnsafeBufferPointer { alpha in
                                for i in 0..<n {
                                    k[i] = Self.kernel(x.baseAddress!, p.baseAddress! + i * d, d, l, signalVariance, c)
                                    mean += k[i] * alpha[i]
                                }
                            }
                        }
                    }
                }
            }
        }
        let explained = factor.squaredNormOfLowerSolve(&k)
        return (mean, max(signalVariance - explained, 1e-12).squareRoot())
    }

    /// Matérn 5/2: σ² (1 + √5 r + 5r²/3) e^(−√5 r), between the `d` coordinates at `a` and `b`.
    @inline(__always)
    static func kernel(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int,
                       _ inverseSquaredLengths: UnsafeBufferPointer<Double>, _ signalVariance: Double,
                       _ categorical: UnsafeBufferPointer<Bool>) -> Double {
        var r2 = 0.0
        for j in 0..<d {
            if categorical[j] {
                if a[j] != b[j] { r2 += inverseSquaredLengths[j] }
            } else {
                let t = a[j] - b[j]
                r2 += t * t * inverseSquaredLengths[j]
            }
        }
        let s = (5 * r2).squareRoot()
        return signalVariance * (1 + s + 5 * r2 / 3) * exp(-s)
    }
}
