// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilDetectors
@testable import VigilReplay

/// Branin–Hoo on [-5, 10] × [0, 15] from unit coordinates; minimum 0.397887 at three points.
func branin(_ p: [Double]) -> Double {
    let x = -5 + 15 * p[0], y = 15 * p[1]
    let b = 5.1 / (4 * Double.pi * Double.pi), c = 5 / Double.pi, t = 1 / (8 * Double.pi)
    let u = y - b * x * x + c * x - 6
    return u * u + 10 * (1 - t) * cos(x) + 10
}
let braninMinimum = 0.397887

/// A quadratic bowl with its minimum 0 away from the centre of [0, 1]⁴.
func shiftedQuadratic(_ p: [Double]) -> Double {
    let centre = [0.31, 0.72, 0.14, 0.57]
    return zip(p, centre).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
}

/// Random search: `budget` uniform points drawn from the same generator and seed.
func randomSearch(_ f: ([Double]) -> Double, dimensions: Int, budget: Int, seed: UInt64) -> Double {
    var rng = Xoshiro256StarStar(seed: seed)
    var best = Double.infinity
    for _ in 0..<budget { best = min(best, f((0..<dimensions).map { _ in rng.nextUnit() })) }
    return best
}

@Suite("Bayesian optimiser")
struct BayesianOptimizerTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5]

    @Test("Branin: within 0.05 of the minimum in 30 evaluations, far closer than random search")
    func braninBeatsRandomSearch() throws {
        var bo: [Double] = [], random: [Double] = []
        for seed in Self.seeds {
            let trials = BayesianOptimizer(dimensions: [.continuous, .continuous], budget: 30, seed: seed).minimize(branin)
            #expect(trials.count == 30)
            bo.append(try #require(BayesianOptimizer.best(trials)).value - braninMinimum)
            random.append(randomSearch(branin, dimensions: 2, budget: 30, seed: seed) - braninMinimum)
        }
        let boMean = bo.reduce(0, +) / Double(bo.count), randomMean = random.reduce(0, +) / Double(random.count)
        print("branin regret: bayesian \(bo), random \(random)")
        #expect(bo.allSatisfy { $0 < 0.05 }, "regrets \(bo)")
        #expect(boMean < randomMean / 10, "mean regret \(boMean) vs random \(randomMean)")
    }

    @Test("shifted quadratic in 4 dimensions: far closer than random search")
    func quadraticBeatsRandomSearch() throws {
        var bo: [Double] = [], random: [Double] = []
        for seed in Self.seeds {
            let trials = BayesianOptimizer(dimensions: Array(repeating: .continuous, count: 4), budget: 40, seed: seed)
                .minimize(shiftedQuadratic)
            bo.append(try #require(BayesianOptimizer.best(trials)).value)
            random.append(randomSearch(shiftedQuadratic, dimensions: 4, budget: 40, seed: seed))
        }
        print("quadratic: bayesian \(bo), random \(random)")
        #expect(bo.allSatisfy { $0 < 0.005 }, "values \(bo)")
        #expect(bo.reduce(0, +) < random.reduce(0, +) / 10)
    }

    @Test("mixed space: finds the right category and the number next to it")
    func mixed() throws {
        let f: ([Double]) -> Double = { p in (p[0] - 0.3) * (p[0] - 0.3) + (p[1] == 2 ? 0 : 0.5) }
        for seed in Self.seeds.prefix(3) {
            let trials = BayesianOptimizer(dimensions: [.continuous, .categorical(count: 4)], budget: 20, seed: seed).minimize(f)
            let best = try #require(BayesianOptimizer.best(trials))
            #expect(best.point[1] == 2 && abs(best.point[0] - 0.3) < 0.05, "seed \(seed): \(best)")
        }
    }

    @Test("a snapped point is never evaluated twice; a small space ends the search early")
    func noRepeats() {
        // Two categorical dimensions of 3 and 2: six points in all.
        var calls = 0
        let trials = BayesianOptimizer(dimensions: [.categorical(count: 3), .categorical(count: 2)], budget: 20, seed: 1)
            .minimize { p in calls += 1; return p[0] + p[1] }
        #expect(trials.count == 6 && calls == 6)
        #expect(Set(trials.map(\.point)).count == 6)
        // Snapping a continuous coordinate to tenths leaves eleven values.
        let tenths = BayesianOptimizer(dimensions: [.continuous], budget: 30, seed: 2)
            .minimize(snap: { $0.map { ($0 * 10).rounded() / 10 } }) { ($0[0] - 0.7) * ($0[0] - 0.7) }
        #expect(tenths.count == 11 && Set(tenths.map(\.point)).count == 11)
        #expect(BayesianOptimizer.best(tenths)?.point == [0.7])
    }

    @Test("starting points come first; the same seed gives the same trials, another seed others")
    func deterministic() {
        let o = BayesianOptimizer(dimensions: [.continuous, .continuous], budget: 12, seed: 9)
        let a = o.minimize(startingAt: [[0.25, 0.75]], branin)
        #expect(a.first?.point == [0.25, 0.75])
        #expect(a == o.minimize(startingAt: [[0.25, 0.75]], branin))
        var other = o
        other.seed = 10
        #expect(other.minimize(startingAt: [[0.25, 0.75]], branin) != a)
    }
}
