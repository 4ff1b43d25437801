// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import VigilDetectors

/// `count` shingles (vectors of `dimension` consecutive values) of `signal` from `offset`, row-major.
func shingles(_ signal: [Double], dimension d: Int, count n: Int, offset: Int = 0) -> [Double] {
    var out: [Double] = []
    out.reserveCapacity(n * d)
    for i in 0..<n {
        for k in 0..<d { out.append(signal[(offset + i + k) % signal.count]) }
    }
    return out
}

/// Isolation forest at the shipped size (100 trees, ψ = 256, trained on a window of 2048
/// vectors as `StreamingIsolationForest` does), standard and extended, at d = 1 and d = 8
/// (the default shingle):
/// - scoring: `anomalyScore` (score only, the fastest path) and `score(_:featureCounts:)` (score,
///   path length and explaining feature: what the streaming detector calls per vector), over 4096
///   held-out vectors, one point at a time; both promise no allocation (checked in-run);
/// - training: one forest per run, as a time (`wallClock`); training allocates by design.
func isolationForestBenchmarks() {
    let signal = testSignal(count: 8_192, seed: 0x1F0E_57)
    let scoresPerRun = 1 << 16
    let points = 4_096
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)

    for extended in [false, true] {
        let kind = extended ? "extended" : "standard"
        for d in [1, 8] {
            let training = shingles(signal, dimension: d, count: 2_048)
            let test = shingles(signal, dimension: d, count: points, offset: 3_000)
            for explained in [false, true] {
                let what = explained ? "score+explanation" : "anomalyScore"
                Benchmark("IForest/\(kind) \(what) d=\(d) (100 trees, ψ=256)", configuration: config) { benchmark in
                    let forest = training.withUnsafeBufferPointer {
                        IsolationForest(training: $0, dimension: d, trees: 100, sampleSize: 256, extended: extended, seed: 0x5EED)
                    }
                    let counts = UnsafeMutableBufferPointer<Int32>.allocate(capacity: d)
                    defer { counts.deallocate() }
                    var sum = 0.0
                    test.withUnsafeBufferPointer { test in
                        let base = test.baseAddress!
                        benchmark.startMeasurement()
                        measure(benchmark, items: scoresPerRun, noAllocations: "isolation forest scoring") {
                            var i = 0
                            for _ in 0..<scoresPerRun {
                                let x = UnsafeBufferPointer(start: base + i &* d, count: d)
                                if explained {
                                    let s = forest.score(x, featureCounts: counts)
                                    sum += s.score + Double(s.feature)
                                } else {
                                    sum += forest.anomalyScore(x)
                                }
                                i &+= 1
                                if i == points { i = 0 }
                            }
                        }
                    }
                    blackHole(sum)
                }
            }
        }
    }

    let trainConfig = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, BenchMetric.itemsPerSecond],
        warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200)
    for extended in [false, true] {
        let kind = extended ? "extended" : "standard"
        let d = 8
        let training = shingles(signal, dimension: d, count: 2_048)
        Benchmark("IForest/train \(kind) d=\(d) (100 trees, ψ=256, window 2048)", configuration: trainConfig) { benchmark in
            var seed: UInt64 = 0x5EED
            training.withUnsafeBufferPointer { training in
                benchmark.startMeasurement()
                measure(benchmark, items: 1) {
                    let forest = IsolationForest(training: training, dimension: d, trees: 100, sampleSize: 256,
                                                 extended: extended, seed: seed)
                    blackHole(forest)
                }
            }
            seed &+= 1
        }
    }
}
