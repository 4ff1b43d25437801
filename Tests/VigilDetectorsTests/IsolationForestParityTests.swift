// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
@testable import VigilDetectors

/// One labelled point set of `Vectors/isolation_forest` with scikit-learn's reference results.
private struct IsolationForestVector: Decodable {
    var name: String
    var X: [[Double]]
    var label: [Double]
    var n_estimators: Int
    var max_samples: Int
    var sklearn_mean_score: [Double]
    var sklearn_auc_mean: Double
    var sklearn_auc_min: Double
    var c_of_n: [String: Double]

    static let names = ["blobs_2d", "correlated_8d", "shingled_sine"]

    static func load(_ name: String) throws -> IsolationForestVector {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json",
                                                 subdirectory: "Vectors/isolation_forest"))
        return try JSONDecoder().decode(IsolationForestVector.self, from: Data(contentsOf: url))
    }

    /// The README's range of Spearman correlations reached by single scikit-learn forests (5 seeds).
    var sklearnSpearmanRange: ClosedRange<Double> {
        switch name {
        case "blobs_2d": 0.976...0.989
        case "correlated_8d": 0.967...0.979
        default: 0.757...0.878
        }
    }
}

/// Ranks with ties given their average rank (1-based).
private func averageRanks(_ x: [Double]) -> [Double] {
    let order = x.indices.sorted { x[$0] < x[$1] }
    var ranks = [Double](repeating: 0, count: x.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
        let r = Double(i + j) / 2 + 1
        for k in i...j { ranks[order[k]] = r }
        i = j + 1
    }
    return ranks
}

/// Spearman's rank correlation (Pearson correlation of average ranks).
private func spearman(_ a: [Double], _ b: [Double]) -> Double {
    let ra = averageRanks(a), rb = averageRanks(b)
    let n = Double(a.count)
    let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in ra.indices {
        sab += (ra[i] - ma) * (rb[i] - mb)
        saa += (ra[i] - ma) * (ra[i] - ma)
        sbb += (rb[i] - mb) * (rb[i] - mb)
    }
    return sab / (saa * sbb).squareRoot()
}

/// ROC AUC by the Mann–Whitney statistic (ties count one half).
private func rocAUC(scores: [Double], labels: [Double]) -> Double {
    let ranks = averageRanks(scores)
    var positives = 0.0, rankSum = 0.0
    for i in labels.indices where labels[i] > 0.5 {
        positives += 1
        rankSum += ranks[i]
    }
    let negatives = Double(labels.count) - positives
    return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
}

private func forestScores(_ v: IsolationForestVector, extended: Bool, seed: UInt64) -> [Double] {
    let forest = IsolationForest(rows: v.X, trees: v.n_estimators, sampleSize: v.max_samples,
                                 extended: extended, seed: seed)
    return v.X.map { forest.score($0).score }
}

@Suite("Isolation forest parity with scikit-learn (statistical)")
struct IsolationForestParityTests {
    /// The fixed seed of these tests.
    static let seed: UInt64 = 20_241_125

    @Test("c(n) matches scikit-learn's normaliser to 1e-12", arguments: IsolationForestVector.names)
    func normaliser(name: String) throws {
        let v = try IsolationForestVector.load(name)
        #expect(v.c_of_n.count >= 5)
        for (key, expected) in v.c_of_n {
            let n = try #require(Int(key))
            #expect(abs(IsolationForest.averagePathLength(n) - expected) <= 1e-12, "c(\(n))")
        }
    }

    @Test("standard forest AUC within 0.03 of scikit-learn's mean", arguments: ["blobs_2d", "shingled_sine"])
    func auc(name: String) throws {
        let v = try IsolationForestVector.load(name)
        let auc = rocAUC(scores: forestScores(v, extended: false, seed: Self.seed), labels: v.label)
        #expect(abs(auc - v.sklearn_auc_mean) <= 0.03, "AUC \(auc) vs scikit-learn \(v.sklearn_auc_mean)")
    }

    /// One forest of the fixed seed is compared with the README's range for single scikit-learn
    /// forests (5 seeds). Being one forest of another random stream, its lower bound is relaxed by
    /// 0.02 and its upper bound by 0.01 (a 5-seed maximum is not a bound: this seed reaches 0.98906
    /// on blobs_2d against 0.989).
    @Test("standard forest ranks points as scikit-learn does (Spearman)", arguments: IsolationForestVector.names)
    func spearmanCorrelation(name: String) throws {
        let v = try IsolationForestVector.load(name)
        let rho = spearman(forestScores(v, extended: false, seed: Self.seed), v.sklearn_mean_score)
        let range = v.sklearnSpearmanRange
        #expect(rho >= range.lowerBound - 0.02 && rho <= range.upperBound + 0.01,
                "Spearman \(rho), scikit-learn's single forests reach \(range)")
    }

    /// Hyperplane splits see the broken correlation a little; with six irrelevant dimensions the
    /// gain is small (a NumPy port of Hariri et al.'s algorithm also gives ≈ 0.48), so the test asks
    /// for a better AUC for the fixed seed and on average over ten seeds, not for a fix.
    @Test("extended forest beats the standard one on correlated_8d")
    func extendedBeatsStandard() throws {
        let v = try IsolationForestVector.load("correlated_8d")
        let standard = rocAUC(scores: forestScores(v, extended: false, seed: Self.seed), labels: v.label)
        let extended = rocAUC(scores: forestScores(v, extended: true, seed: Self.seed), labels: v.label)
        #expect(abs(standard - v.sklearn_auc_mean) <= 0.03, "standard AUC \(standard) near scikit-learn's")
        #expect(extended > standard, "extended AUC \(extended) vs standard \(standard)")
        var standardMean = 0.0, extendedMean = 0.0
        for s: UInt64 in 1...10 {
            standardMean += rocAUC(scores: forestScores(v, extended: false, seed: s), labels: v.label) / 10
            extendedMean += rocAUC(scores: forestScores(v, extended: true, seed: s), labels: v.label) / 10
        }
        #expect(extendedMean > standardMean, "mean over 10 seeds: extended \(extendedMean) vs standard \(standardMean)")
    }

    /// Not a parity requirement but a guard that the fixed seed above is not a lucky one: over ten
    /// seeds the mean AUC stays within 0.03 of scikit-learn's mean (shingled_sine varies most: one
    /// forest's AUC spans 0.77–0.90 there, for scikit-learn as for this forest).
    @Test("mean AUC over ten seeds within 0.03 of scikit-learn's", arguments: IsolationForestVector.names)
    func aucOverSeeds(name: String) throws {
        let v = try IsolationForestVector.load(name)
        var total = 0.0
        for s: UInt64 in 1...10 {
            total += rocAUC(scores: forestScores(v, extended: false, seed: s), labels: v.label)
        }
        let mean = total / 10
        #expect(abs(mean - v.sklearn_auc_mean) <= 0.03, "mean AUC \(mean) vs scikit-learn \(v.sklearn_auc_mean)")
    }
}
