// SPDX-License-Identifier: GPL-3.0-or-later

/// Derivative-free local maximisation by compass search (Hooke and Jeeves' exploratory moves):
/// try a step up and down each coordinate in turn, keep any improvement, halve the step when
/// none helps. Deterministic: the same start gives the same answer.
///
/// Used to fit the Gaussian process's hyperparameters and to polish the acquisition's best
/// candidates. Threading: pure functions.
enum PatternSearch {
    /// A local maximum of `f` near `start` within `bounds` (a coordinate whose bounds are equal is
    /// held fixed), searched until the step falls below `minimumStep` or `maxEvaluations` calls.
    static func maximize(_ f: ([Double]) -> Double, from start: [Double], bounds: [(lower: Double, upper: Double)],
                         step initialStep: Double, minimumStep: Double, maxEvaluations: Int) -> (vector: [Double], value: Double) {
        precondition(start.count == bounds.count)
        var x = zip(start, bounds).map { min(max($0, $1.lower), $1.upper) }
        var value = f(x)
        var evaluations = 1
        var step = initialStep
        while step >= minimumStep && evaluations < maxEvaluations {
            var improved = false
            for i in x.indices where bounds[i].lower < bounds[i].upper {
                for direction in [1.0, -1.0] {
                    var y = x
                    y[i] = min(max(x[i] + direction * step, bounds[i].lower), bounds[i].upper)
                    if y[i] == x[i] { continue }
                    let v = f(y)
                    evaluations += 1
                    if v > value {
                        x = y
                        value = v
                        improved = true
                        break
                    }
                    if evaluations >= maxEvaluations { return (x, value) }
                }
            }
            if !improved { step /= 2 }
        }
        return (x, value)
    }
}
