// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An isolation forest model (Liu, Ting & Zhou, ICDM 2008), standard (axis-parallel splits) or
/// extended (random hyperplane splits, Hariri, Kind & Brunner, IEEE TKDE 2021).
///
/// Training follows the paper and scikit-learn: each tree draws ψ = min(`sampleSize`, n) points
/// without replacement and is grown to the height limit ⌈log₂ ψ⌉. A standard split picks a feature
/// uniformly among those that are not constant in the node and a threshold uniformly in the node's
/// range of it (`x[f] ≤ t` goes left); an extended split draws a normal vector `n ~ N(0, I)` and an
/// intercept point `p` uniformly in the node's bounding box (`n·x ≤ n·p` goes left). A point's path
/// length in a tree is the depth of the leaf it reaches plus c(size of that leaf), and its score is
/// `s = 2^(−E[h] / c(ψ))`: near 1 for anomalies, at most about 0.5 for ordinary points.
///
/// Storage: every tree is laid out as a *complete* binary tree of the height limit in flat,
/// struct-of-arrays buffers shared by all trees (split feature, split value, normals for the
/// extended variant; leaf path length and explaining feature). A node that stops early becomes a
/// pass-through chain (threshold +∞, always left) down to a leaf holding its path length, so scoring
/// is a fixed number of branch-free steps per tree, interleaved eight trees at a time, and
/// allocates nothing.
///
/// Determinism: the trees are a pure function of the training data (in order), the parameters and
/// `seed` (tree *k* uses its own `Xoshiro256StarStar` stream derived from `seed` and *k*).
///
/// Threading: immutable after `init`; any number of threads may score concurrently.
public final class IsolationForest: @unchecked Sendable {
    /// The result of scoring one point.
    public struct Score: Sendable, Equatable {
        /// The anomaly score `s = 2^(−E[h] / c(ψ))` in (0, 1].
        public var score: Double
        /// The mean path length E[h] over the trees.
        public var pathLength: Double
        /// The feature that isolated the point most often: over the trees, the most frequent
        /// feature of the last split on the point's path (standard), or of the coordinate with the
        /// largest |normal component| at that split (extended). Ties go to the lower index; −1 when
        /// no tree has a split (or the score was computed without explanation).
        public var feature: Int32

        /// A score with its explanation.
        public init(score: Double, pathLength: Double, feature: Int32) {
            self.score = score
            self.pathLength = pathLength
            self.feature = feature
        }
    }

    /// Euler–Mascheroni constant at double precision (the value scikit-learn uses).
    public static let eulerGamma = 0.5772156649015329

    /// Trees in the forest.
    public let treeCount: Int
    /// Points drawn per tree, ψ (the requested sample size, capped at the training set's size).
    public let sampleSize: Int
    /// Dimension of the points.
    public let dimension: Int
    /// Height limit of every tree, ⌈log₂ ψ⌉.
    public let heightLimit: Int
    /// Whether the splits are random hyperplanes (extended isolation forest).
    public let isExtended: Bool
    /// The normaliser c(ψ).
    public let normaliser: Double

    private let internalNodes: Int
    private let leafNodes: Int
    private let inverseScale: Double
    private let splitFeature: UnsafeMutablePointer<Int32>
    private let splitValue: UnsafeMutablePointer<Double>
    private let splitNormal: UnsafeMutablePointer<Double>
    private let leafPathLength: UnsafeMutablePointer<Double>
    private let leafFeature: UnsafeMutablePointer<Int32>

    /// Trains a forest on `training`, `count × dimension` values in row-major order.
    ///
    /// - Parameters:
    ///   - training: the points, row-major; at least two points.
    ///   - dimension: values per point (≥ 1).
    ///   - trees: number of trees (≥ 1).
    ///   - sampleSize: ψ, points per tree (2 … 65536); capped at the number of points.
    ///   - extended: random hyperplane splits instead of axis-parallel ones.
    ///   - seed: seed of the random numbers.
    ///
    /// Allocates (the forest and training scratch); call it off the hot path.
    public convenience init(training: UnsafeBufferPointer<Double>, dimension: Int, trees: Int = 100,
                            sampleSize: Int = 256, extended: Bool = false, seed: UInt64) {
        self.init(flat: Array(training), dimension: dimension, trees: trees, sampleSize: sampleSize,
                  extended: extended, seed: seed)
    }

    /// Trains a forest on `rows` (all of the same dimension). Convenience for tests and tools.
    public convenience init(rows: [[Double]], trees: Int = 100, sampleSize: Int = 256,
                            extended: Bool = false, seed: UInt64) {
        precondition(!rows.isEmpty)
        let d = rows[0].count
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * d)
        for r in rows {
            precondition(r.count == d, "rows of different dimensions")
            flat.append(contentsOf: r)
        }
        self.init(flat: flat, dimension: d, trees: trees, sampleSize: sampleSize, extended: extended, seed: seed)
    }

    private init(flat training: [Double], dimension: Int, trees: Int, sampleSize: Int, extended: Bool, seed: UInt64) {
        precondition(dimension >= 1 && dimension <= Int(Int32.max), "dimension must be positive")
        precondition(training.count % dimension == 0, "training data is not a whole number of points")
        let count = training.count / dimension
        precondition(count >= 2, "an isolation forest needs at least two training points")
        precondition(trees >= 1, "an isolation forest needs at least one tree")
        precondition(sampleSize >= 2 && sampleSize <= 1 << 16, "sample size must be in 2...65536")
        let psi = min(sampleSize, count)
        let height = Self.heightLimit(sampleSize: psi)
        treeCount = trees
        self.sampleSize = psi
        self.dimension = dimension
        heightLimit = height
        isExtended = extended
        normaliser = Self.averagePathLength(psi)
        internalNodes = (1 << height) - 1
        leafNodes = 1 << height
        inverseScale = 1 / (Double(trees) * normaliser)

        let internalTotal = trees * internalNodes
        let leafTotal = trees * leafNodes
        splitFeature = .allocate(capacity: internalTotal)
        splitFeature.initialize(repeating: 0, count: internalTotal)
        splitValue = .allocate(capacity: internalTotal)
        splitValue.initialize(repeating: .infinity, count: internalTotal)
        let normalTotal = extended ? internalTotal * dimension : 1
        splitNormal = .allocate(capacity: normalTotal)
        splitNormal.initialize(repeating: 0, count: normalTotal)
        leafPathLength = .allocate(capacity: leafTotal)
        leafPathLength.initialize(repeating: 0, count: leafTotal)
        leafFeature = .allocate(capacity: leafTotal)
        leafFeature.initialize(repeating: -1, count: leafTotal)

        training.withUnsafeBufferPointer { training in
        var builder = TreeBuilder(data: training, count: count, dimension: dimension, sampleSize: psi,
                                  height: height, extended: extended)
        defer { builder.deallocate() }
        for tree in 0..<trees {
            builder.rng = Xoshiro256StarStar(seed: Xoshiro256StarStar.derivedSeed(seed, stream: UInt64(tree)))
            builder.build(feature: splitFeature + tree * internalNodes,
                          value: splitValue + tree * internalNodes,
                          normal: extended ? splitNormal + tree * internalNodes * dimension : splitNormal,
                          leafPathLength: leafPathLength + tree * leafNodes,
                          leafFeature: leafFeature + tree * leafNodes)
        }
        }
    }

    deinit {
        splitFeature.deallocate()
        splitValue.deallocate()
        splitNormal.deallocate()
        leafPathLength.deallocate()
        leafFeature.deallocate()
    }

    /// c(n), the average path length of an unsuccessful search in a binary search tree of n points:
    /// `2·H(n−1) − 2(n−1)/n` with `H(i) = ln i + γ`; c(2) = 1 and c(n ≤ 1) = 0.
    public static func averagePathLength(_ n: Int) -> Double {
        if n <= 1 { return 0 }
        if n == 2 { return 1 }
        let m = Double(n) - 1
        return 2 * (log(m) + eulerGamma) - 2 * m / Double(n)
    }

    /// ⌈log₂ ψ⌉, the height limit of a tree grown from ψ points.
    public static func heightLimit(sampleSize psi: Int) -> Int {
        psi <= 1 ? 0 : Int.bitWidth - (psi - 1).leadingZeroBitCount
    }

    // MARK: Scoring

    /// The anomaly score `s` of `point` (`dimension` values), without explanation: the fastest path.
    /// Allocates nothing.
    @inline(__always)
    public func anomalyScore(_ point: UnsafeBufferPointer<Double>) -> Double {
        precondition(point.count >= dimension)
        let sum = pathLengthSum(point.baseAddress!, counts: nil)
        return exp2(-sum * inverseScale)
    }

    /// Score, mean path length and explaining feature of `point`, counting features in
    /// `featureCounts` (scratch of at least `dimension` elements, overwritten). Allocates nothing.
    @inline(__always)
    public func score(_ point: UnsafeBufferPointer<Double>, featureCounts: UnsafeMutableBufferPointer<Int32>) -> Score {
        precondition(point.count >= dimension && featureCounts.count >= dimension)
        let counts = featureCounts.baseAddress!
        counts.update(repeating: 0, count: dimension)
        let sum = pathLengthSum(point.baseAddress!, counts: counts)
        var best: Int32 = -1
        var bestCount: Int32 = 0
        for f in 0..<dimension where counts[f] > bestCount {
            bestCount = counts[f]
            best = Int32(truncatingIfNeeded: f)
        }
        return Score(score: exp2(-sum * inverseScale), pathLength: sum / Double(treeCount), feature: best)
    }

    /// Score, mean path length and explaining feature of `point`. Uses stack scratch for the
    /// feature counts (no heap allocation for dimensions up to a few hundred).
    public func score(_ point: UnsafeBufferPointer<Double>) -> Score {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: dimension) { score(point, featureCounts: $0) }
    }

    /// Score of one point given as an array. Convenience for tests and tools.
    public func score(_ point: [Double]) -> Score {
        point.withUnsafeBufferPointer { score($0) }
    }

    /// Anomaly scores of `points` (row-major, a whole number of points) into `scores`.
    public func anomalyScores(_ points: UnsafeBufferPointer<Double>, into scores: UnsafeMutableBufferPointer<Double>) {
        let n = points.count / dimension
        precondition(points.count == n * dimension && scores.count >= n)
        guard n > 0 else { return }
        let base = points.baseAddress!
        for i in 0..<n {
            scores[i] = exp2(-pathLengthSum(base + i * dimension, counts: nil) * inverseScale)
        }
    }

    /// Path length of `point` in tree `tree` alone, walking one tree at a time (the reference the
    /// interleaved loops are tested against).
    func pathLength(tree: Int, point: UnsafeBufferPointer<Double>) -> Double {
        precondition(tree >= 0 && tree < treeCount && point.count >= dimension)
        let x = point.baseAddress!
        let b = tree * internalNodes
        var i = 0
        for _ in 0..<heightLimit {
            let node = b + i
            let goesRight = isExtended
                ? TreeBuilder.dot(UnsafePointer(splitNormal + node * dimension), x, dimension) > splitValue[node]
                : x[Int(splitFeature[node])] > splitValue[node]
            i = 2 * i + (goesRight ? 2 : 1)
        }
        return leafPathLength[tree * leafNodes + i - internalNodes]
    }

    /// Sum over the trees of the path length of `x`; counts the explaining feature per tree when
    /// `counts` is given.
    @inline(__always)
    private func pathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        isExtended ? extendedPathLengthSum(x, counts: counts) : standardPathLengthSum(x, counts: counts)
    }

    @inline(__always)
    private func countFeature(_ counts: UnsafeMutablePointer<Int32>?, _ leaf: Int) {
        if let counts {
            let f = Int(leafFeature[leaf])
            if f >= 0 { counts[f] &+= 1 }
        }
    }

    /// Axis-parallel trees, 8 at a time so that their independent load chains overlap (the walk of
    /// one tree is a chain of dependent loads; interleaving hides their latency).
    private func standardPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        let feat = splitFeature
        let value = splitValue
        let inner = internalNodes
        let leaves = leafNodes
        let height = heightLimit
        var sum = 0.0
        var tree = 0
        while tree &+ 8 <= treeCount {
            let b0 = tree &* inner
            let b1 = b0 &+ inner
            let b2 = b1 &+ inner
            let b3 = b2 &+ inner
            let b4 = b3 &+ inner
            let b5 = b4 &+ inner
            let b6 = b5 &+ inner
            let b7 = b6 &+ inner
            var i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0
            for _ in 0..<height {
                i0 = 2 &* i0 &+ 1 &+ (x[Int(feat[b0 &+ i0])] > value[b0 &+ i0] ? 1 : 0)
                i1 = 2 &* i1 &+ 1 &+ (x[Int(feat[b1 &+ i1])] > value[b1 &+ i1] ? 1 : 0)
                i2 = 2 &* i2 &+ 1 &+ (x[Int(feat[b2 &+ i2])] > value[b2 &+ i2] ? 1 : 0)
                i3 = 2 &* i3 &+ 1 &+ (x[Int(feat[b3 &+ i3])] > value[b3 &+ i3] ? 1 : 0)
                i4 = 2 &* i4 &+ 1 &+ (x[Int(feat[b4 &+ i4])] > value[b4 &+ i4] ? 1 : 0)
                i5 = 2 &* i5 &+ 1 &+ (x[Int(feat[b5 &+ i5])] > value[b5 &+ i5] ? 1 : 0)
                i6 = 2 &* i6 &+ 1 &+ (x[Int(feat[b6 &+ i6])] > value[b6 &+ i6] ? 1 : 0)
                i7 = 2 &* i7 &+ 1 &+ (x[Int(feat[b7 &+ i7])] > value[b7 &+ i7] ? 1 : 0)
            }
            let l0 = tree &* leaves &- inner
            let l1 = l0 &+ leaves
            let l2 = l1 &+ leaves
            let l3 = l2 &+ leaves
            let l4 = l3 &+ leaves
            let l5 = l4 &+ leaves
            let l6 = l5 &+ leaves
            let l7 = l6 &+ leaves
            sum += ((leafPathLength[l0 &+ i0] + leafPathLength[l1 &+ i1]) + (leafPathLength[l2 &+ i2] + leafPathLength[l3 &+ i3]))
                + ((leafPathLength[l4 &+ i4] + leafPathLength[l5 &+ i5]) + (leafPathLength[l6 &+ i6] + leafPathLength[l7 &+ i7]))
            if counts != nil {
                countFeature(counts, l0 &+ i0)
                countFeature(counts, l1 &+ i1)
                countFeature(counts, l2 &+ i2)
                countFeature(counts, l3 &+ i3)
                countFeature(counts, l4 &+ i4)
                countFeature(counts, l5 &+ i5)
                countFeature(counts, l6 &+ i6)
                countFeature(counts, l7 &+ i7)
            }
            tree &+= 8
        }
        while tree < treeCount {
            let b = tree &* inner
            var i = 0
            for _ in 0..<height {
                i = 2 &* i &+ 1 &+ (x[Int(feat[b &+ i])] > value[b &+ i] ? 1 : 0)
            }
            let l = tree &* leaves &+ (i &- inner)
            sum += leafPathLength[l]
            countFeature(counts, l)
            tree &+= 1
        }
        return sum
    }

    /// Hyperplane trees, four at a time (as for axis-parallel trees, to overlap the dependent
    /// chains); each step is a dot product with the node's normal.
    private func extendedPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        let d = dimension
        let inner = internalNodes
        let leaves = leafNodes
        let normals = UnsafePointer(splitNormal)
        let value = splitValue
        var sum = 0.0
        var tree = 0
        while tree &+ 4 <= treeCount {
            let b0 = tree &* inner
            let b1 = b0 &+ inner
            let b2 = b1 &+ inner
            let b3 = b2 &+ inner
            var i0 = 0, i1 = 0, i2 = 0, i3 = 0
            for _ in 0..<heightLimit {
                let n0 = b0 &+ i0, n1 = b1 &+ i1, n2 = b2 &+ i2, n3 = b3 &+ i3
                let p0 = TreeBuilder.dot(normals + n0 &* d, x, d)
                let p1 = TreeBuilder.dot(normals + n1 &* d, x, d)
                let p2 = TreeBuilder.dot(normals + n2 &* d, x, d)
                let p3 = TreeBuilder.dot(normals + n3 &* d, x, d)
                i0 = 2 &* i0 &+ 1 &+ (p0 > value[n0] ? 1 : 0)
                i1 = 2 &* i1 &+ 1 &+ (p1 > value[n1] ? 1 : 0)
                i2 = 2 &* i2 &+ 1 &+ (p2 > value[n2] ? 1 : 0)
                i3 = 2 &* i3 &+ 1 &+ (p3 > value[n3] ? 1 : 0)
            }
            let l0 = tree &* leaves &- inner
            let l1 = l0 &+ leaves, l2 = l1 &+ leaves, l3 = l2 &+ leaves
            sum += (leafPathLength[l0 &+ i0] + leafPathLength[l1 &+ i1]) + (leafPathLength[l2 &+ i2] + leafPathLength[l3 &+ i3])
            if counts != nil {
                countFeature(counts, l0 &+ i0)
                countFeature(counts, l1 &+ i1)
                countFeature(counts, l2 &+ i2)
                countFeature(counts, l3 &+ i3)
            }
            tree &+= 4
        }
        while tree < treeCount {
            let b = tree &* inner
            var i = 0
            for _ in 0..<heightLimit {
                let node = b &+ i
                i = 2 &* i &+ 1 &+ (TreeBuilder.dot(normals + node &* d, x, d) > value[node] ? 1 : 0)
            }
            let l = tree &* leaves &+ (i &- inner)
            sum += leafPathLength[l]
            countFeature(counts, l)
            tree &+= 1
        }
        return sum
    }
}

/// Grows the trees of one forest into its flat buffers; owns the training scratch.
private struct TreeBuilder {
    let data: UnsafePointer<Double>
    let count: Int
    let dimension: Int
    let sampleSize: Int
    let height: Int
    let extended: Bool
    var rng = Xoshiro256StarStar(seed: 0)
    /// A permutation of 0..<count; its first ψ entries are each tree's sample (partial Fisher–Yates).
    private let pool: UnsafeMutablePointer<Int>
    /// Row indices of the current tree's sample, partitioned in place as the tree grows.
    private let rows: UnsafeMutablePointer<Int>
    private let projections: UnsafeMutablePointer<Double>
    private let featureOrder: UnsafeMutablePointer<Int>
    private let lower: UnsafeMutablePointer<Double>
    private let upper: UnsafeMutablePointer<Double>

    // The tree being grown.
    private var feature: UnsafeMutablePointer<Int32>!
    private var value: UnsafeMutablePointer<Double>!
    private var normal: UnsafeMutablePointer<Double>!
    private var leafPathLength: UnsafeMutablePointer<Double>!
    private var leafFeature: UnsafeMutablePointer<Int32>!

    init(data: UnsafeBufferPointer<Double>, count: Int, dimension: Int, sampleSize: Int, height: Int, extended: Bool) {
        self.data = data.baseAddress!
        self.count = count
        self.dimension = dimension
        self.sampleSize = sampleSize
        self.height = height
        self.extended = extended
        pool = .allocate(capacity: count)
        for i in 0..<count { (pool + i).initialize(to: i) }
        rows = .allocate(capacity: sampleSize)
        rows.initialize(repeating: 0, count: sampleSize)
        projections = .allocate(capacity: sampleSize)
        projections.initialize(repeating: 0, count: sampleSize)
        featureOrder = .allocate(capacity: dimension)
        for f in 0..<dimension { (featureOrder + f).initialize(to: f) }
        lower = .allocate(capacity: dimension)
        lower.initialize(repeating: 0, count: dimension)
        upper = .allocate(capacity: dimension)
        upper.initialize(repeating: 0, count: dimension)
    }

    func deallocate() {
        pool.deallocate()
        rows.deallocate()
        projections.deallocate()
        featureOrder.deallocate()
        lower.deallocate()
        upper.deallocate()
    }

    /// `n·x` summed in index order; training and scoring use this same function so that a training
    /// point is routed identically by both.
    @inline(__always)
    static func dot(_ n: UnsafePointer<Double>, _ x: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for k in 0..<d { s += n[k] * x[k] }
        return s
    }

    mutating func build(feature: UnsafeMutablePointer<Int32>, value: UnsafeMutablePointer<Double>,
                        normal: UnsafeMutablePointer<Double>, leafPathLength: UnsafeMutablePointer<Double>,
                        leafFeature: UnsafeMutablePointer<Int32>) {
        self.feature = feature
        self.value = value
        self.normal = normal
        self.leafPathLength = leafPathLength
        self.leafFeature = leafFeature
        // Sample ψ rows without replacement.
        for k in 0..<sampleSize {
            let j = k + rng.nextIndex(below: count - k)
            exchange(pool, k, j)
            rows[k] = pool[k]
        }
        grow(node: 0, depth: 0, lo: 0, hi: sampleSize, last: -1)
    }

    private mutating func grow(node: Int, depth: Int, lo: Int, hi: Int, last: Int32) {
        if depth == height || hi - lo <= 1 {
            leaf(node: node, depth: depth, size: hi - lo, last: last)
        } else if extended {
            growHyperplane(node: node, depth: depth, lo: lo, hi: hi, last: last)
        } else {
            growAxisParallel(node: node, depth: depth, lo: lo, hi: hi, last: last)
        }
    }

    /// A leaf at `node`: pass-through nodes (threshold +∞, so always left) down to the height limit,
    /// then the path length `depth + c(size)` and the explaining feature.
    private func leaf(node: Int, depth: Int, size: Int, last: Int32) {
        var k = node
        for _ in depth..<height { k = 2 * k + 1 }
        let l = k - ((1 << height) - 1)
        leafPathLength[l] = Double(depth) + IsolationForest.averagePathLength(size)
        leafFeature[l] = last
    }

    private mutating func growAxisParallel(node: Int, depth: Int, lo: Int, hi: Int, last: Int32) {
        let d = dimension
        // As scikit-learn: draw features without replacement until one is not constant in the node.
        var chosen = -1
        var minimum = 0.0
        var maximum = 0.0
        for a in 0..<d {
            let j = a + rng.nextIndex(below: d - a)
            exchange(featureOrder, a, j)
            let f = featureOrder[a]
            var mn = Double.infinity
            var mx = -Double.infinity
            for k in lo..<hi {
                let v = data[rows[k] * d + f]
                mn = min(mn, v)
                mx = max(mx, v)
            }
            if mx > mn {
                chosen = f
                minimum = mn
                maximum = mx
                break
            }
        }
        guard chosen >= 0 else {
            leaf(node: node, depth: depth, size: hi - lo, last: last)
            return
        }
        var threshold = minimum + (maximum - minimum) * rng.nextUnit()
        if !(threshold < maximum) { threshold = minimum }
        var i = lo
        var j = hi - 1
        while i <= j {
            if data[rows[i] * d + chosen] <= threshold {
                i += 1
            } else {
                exchange(rows, i, j)
                j -= 1
            }
        }
        let f = Int32(truncatingIfNeeded: chosen)
        feature[node] = f
        value[node] = threshold
        grow(node: 2 * node + 1, depth: depth + 1, lo: lo, hi: i, last: f)
        grow(node: 2 * node + 2, depth: depth + 1, lo: i, hi: hi, last: f)
    }

    private mutating func growHyperplane(node: Int, depth: Int, lo: Int, hi: Int, last: Int32) {
        let d = dimension
        for f in 0..<d {
            lower[f] = .infinity
            upper[f] = -.infinity
        }
        for k in lo..<hi {
            let row = data + rows[k] * d
            for f in 0..<d {
                lower[f] = min(lower[f], row[f])
                upper[f] = max(upper[f], row[f])
            }
        }
        var varies = false
        for f in 0..<d where upper[f] > lower[f] { varies = true }
        guard varies else {
            leaf(node: node, depth: depth, size: hi - lo, last: last)
            return
        }
        // Random normal direction, intercept point uniform in the node's bounding box (Hariri et al.,
        // full extension level).
        let n = normal + node * d
        var strongest = 0
        var strongestMagnitude = -1.0
        for f in 0..<d {
            let w = rng.nextGaussian()
            n[f] = w
            if abs(w) > strongestMagnitude {
                strongestMagnitude = abs(w)
                strongest = f
            }
        }
        var intercept = 0.0
        for f in 0..<d {
            let p = lower[f] + (upper[f] - lower[f]) * rng.nextUnit()
            intercept += n[f] * p
        }
        for k in lo..<hi { projections[k] = Self.dot(UnsafePointer(n), data + rows[k] * d, d) }
        var i = lo
        var j = hi - 1
        while i <= j {
            if projections[i] <= intercept {
                i += 1
            } else {
                exchange(rows, i, j)
                exchange(projections, i, j)
                j -= 1
            }
        }
        let f = Int32(truncatingIfNeeded: strongest)
        feature[node] = f
        value[node] = intercept
        grow(node: 2 * node + 1, depth: depth + 1, lo: lo, hi: i, last: f)
        grow(node: 2 * node + 2, depth: depth + 1, lo: i, hi: hi, last: f)
    }
}

/// Swaps two elements of a buffer.
@inline(__always)
private func exchange<T>(_ p: UnsafeMutablePointer<T>, _ i: Int, _ j: Int) {
    let t = p[i]
    p[i] = p[j]
    p[j] = t
}
