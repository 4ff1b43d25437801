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
/// Storage: every tree is laid out as a *complete* binary tree of the height limit. A node that
/// stops early becomes a pass-through chain (threshold +∞, always left) down to a leaf holding its
/// path length, so scoring is a fixed number of branch-free steps per tree, interleaved (eight
/// standard or four extended trees at a time), and allocates nothing. Standard trees are packed in
/// 64-byte cache-line blocks of up to three levels (seven split values and their one-byte
/// features; the last block level also holds the leaves' path lengths and features), so that a
/// walk of height 8 reads three cache lines rather than about fourteen (`BlockLayout`); features
/// of dimensions above 255 live in a side array. Extended trees keep flat heap-ordered buffers
/// (split value, normals; leaf path length and explaining feature).
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
    // Extended trees: heap-ordered split values, normals, leaves (one element when standard).
    private let splitValue: UnsafeMutablePointer<Double>
    private let splitNormal: UnsafeMutablePointer<Double>
    private let leafPathLength: UnsafeMutablePointer<Double>
    private let leafFeature: UnsafeMutablePointer<Int32>
    // Standard trees: cache-line blocks (see `BlockLayout`); one block when extended.
    private let layout: BlockLayout
    private let blocks: UnsafeMutableRawPointer
    /// The allocation `blocks` lies in, aligned by hand to 64 bytes (an interposed allocator
    /// need not honour an alignment request).
    private let blockStorage: UnsafeMutableRawPointer
    /// Split and leaf features as Int32 per block slot (`block·8 + slot`), only when the features do
    /// not fit the blocks' bytes (dimension > 255); one element otherwise.
    private let wideFeature: UnsafeMutablePointer<Int32>
    private let wide: Bool
    /// Per block level: byte offset of its first block in a tree, tree levels it holds.
    private let levelTable: UnsafeMutablePointer<Int>

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
        let heapInternal = extended ? internalTotal : 1
        let heapLeaves = extended ? leafTotal : 1
        splitValue = .allocate(capacity: heapInternal)
        splitValue.initialize(repeating: .infinity, count: heapInternal)
        let normalTotal = extended ? internalTotal * dimension : 1
        splitNormal = .allocate(capacity: normalTotal)
        splitNormal.initialize(repeating: 0, count: normalTotal)
        leafPathLength = .allocate(capacity: heapLeaves)
        leafPathLength.initialize(repeating: 0, count: heapLeaves)
        leafFeature = .allocate(capacity: heapLeaves)
        leafFeature.initialize(repeating: -1, count: heapLeaves)
        let layout = BlockLayout(height: height)
        self.layout = layout
        levelTable = .allocate(capacity: 2 * layout.levelCount)
        for l in 0..<layout.levelCount {
            (levelTable + 2 * l).initialize(to: layout.firstBlock[l] * 64)
            (levelTable + 2 * l + 1).initialize(to: layout.depths[l])
        }
        let blockTotal = extended ? 1 : trees * layout.blocksPerTree
        blockStorage = .allocate(byteCount: blockTotal * 64 + 63, alignment: 16)
        blocks = blockStorage + ((64 - Int(bitPattern: blockStorage) & 63) & 63)
        blocks.initializeMemory(as: UInt8.self, repeating: 0, count: blockTotal * 64)
        let wide = !extended && dimension > 255
        self.wide = wide
        let wideTotal = wide ? blockTotal * 8 : 1
        wideFeature = .allocate(capacity: wideTotal)
        wideFeature.initialize(repeating: -1, count: wideTotal)

        // Standard trees are grown into heap-ordered scratch, then packed into blocks.
        let scratchInternal = extended ? 1 : internalNodes
        let scratchLeaves = extended ? 1 : leafNodes
        let featureScratch = UnsafeMutablePointer<Int32>.allocate(capacity: internalNodes)
        featureScratch.initialize(repeating: 0, count: internalNodes)
        let valueScratch = UnsafeMutablePointer<Double>.allocate(capacity: scratchInternal)
        let leafLengthScratch = UnsafeMutablePointer<Double>.allocate(capacity: scratchLeaves)
        let leafFeatureScratch = UnsafeMutablePointer<Int32>.allocate(capacity: scratchLeaves)
        defer {
            featureScratch.deallocate()
            valueScratch.deallocate()
            leafLengthScratch.deallocate()
            leafFeatureScratch.deallocate()
        }

        training.withUnsafeBufferPointer { training in
        var builder = TreeBuilder(data: training, count: count, dimension: dimension, sampleSize: psi,
                                  height: height, extended: extended)
        defer { builder.deallocate() }
        for tree in 0..<trees {
            builder.rng = Xoshiro256StarStar(seed: Xoshiro256StarStar.derivedSeed(seed, stream: UInt64(tree)))
            if extended {
                builder.build(feature: featureScratch,
                              value: splitValue + tree * internalNodes,
                              normal: splitNormal + tree * internalNodes * dimension,
                              leafPathLength: leafPathLength + tree * leafNodes,
                              leafFeature: leafFeature + tree * leafNodes)
            } else {
                valueScratch.update(repeating: .infinity, count: internalNodes)
                featureScratch.update(repeating: 0, count: internalNodes)
                leafLengthScratch.update(repeating: 0, count: leafNodes)
                leafFeatureScratch.update(repeating: -1, count: leafNodes)
                builder.build(feature: featureScratch, value: valueScratch, normal: splitNormal,
                              leafPathLength: leafLengthScratch, leafFeature: leafFeatureScratch)
                let treeBlock = tree * layout.blocksPerTree
                for depth in 0...height {
                    let heapStart = (1 << depth) - 1
                    for position in 0..<(1 << depth) {
                        let (block, slot) = layout.location(depth: depth, position: position)
                        let b = blocks + (treeBlock + block) * 64
                        let isLeaf = depth == height
                        let f = isLeaf ? leafFeatureScratch[position] : featureScratch[heapStart + position]
                        let v = isLeaf ? leafLengthScratch[position] : valueScratch[heapStart + position]
                        b.storeBytes(of: v, toByteOffset: slot * 8, as: Double.self)
                        b.storeBytes(of: UInt8(truncatingIfNeeded: f), toByteOffset: 56 + slot, as: UInt8.self)
                        if wide { wideFeature[(treeBlock + block) * 8 + slot] = f }
                    }
                }
            }
        }
        }
    }

    deinit {
        blockStorage.deallocate()
        levelTable.deallocate()
        wideFeature.deallocate()
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
        if !isExtended {
            // Through the heap position, independently of the interleaved loop's block walk.
            var position = 0
            for depth in 0..<heightLimit {
                let (block, slot) = layout.location(depth: depth, position: position)
                let (f, v) = blockEntry(tree: tree, block: block, slot: slot)
                position = 2 * position + (x[Int(f)] > v ? 1 : 0)
            }
            let (block, slot) = layout.location(depth: heightLimit, position: position)
            return blockEntry(tree: tree, block: block, slot: slot).value
        }
        let b = tree * internalNodes
        var i = 0
        for _ in 0..<heightLimit {
            let node = b + i
            let goesRight = TreeBuilder.dot(UnsafePointer(splitNormal + node * dimension), x, dimension) > splitValue[node]
            i = 2 * i + (goesRight ? 2 : 1)
        }
        return leafPathLength[tree * leafNodes + i - internalNodes]
    }

    /// Feature and value (split threshold or leaf path length) in slot `slot` of a standard tree's block.
    private func blockEntry(tree: Int, block: Int, slot: Int) -> (feature: Int32, value: Double) {
        let b = tree * layout.blocksPerTree + block
        let p = UnsafeRawPointer(blocks + b * 64)
        let v = p.load(fromByteOffset: slot * 8, as: Double.self)
        if wide { return (wideFeature[b * 8 + slot], v) }
        let f = p.load(fromByteOffset: 56 + slot, as: UInt8.self)
        return (f == 255 ? -1 : Int32(f), v)
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

    /// One level of a standard tree: compares `x` with the split in slot `j` of the block at `q`
    /// and moves to the child (`j` in the block, `p` the heap position in the level). Branch-free.
    @inline(__always)
    private func step(_ x: UnsafePointer<Double>, _ q: UnsafeRawPointer, _ j: inout Int, _ p: inout Int, wide: Bool) {
        let v = q.load(fromByteOffset: j &<< 3, as: Double.self)
        let f = wide
            ? Int(wideFeature[((q - UnsafeRawPointer(blocks)) &>> 3) &+ j])
            : Int(q.load(fromByteOffset: 56 &+ j, as: UInt8.self))
        let bit = x[f] > v ? 1 : 0
        j = 2 &* j &+ 1 &+ bit
        p = 2 &* p &+ bit
    }

    /// Adds the explaining feature of the leaf in slot `j` of the block at `q` to `counts`.
    @inline(__always)
    private func countLeaf(_ counts: UnsafeMutablePointer<Int32>, _ q: UnsafeRawPointer, _ j: Int, wide: Bool) {
        if wide {
            let f = Int(wideFeature[((q - UnsafeRawPointer(blocks)) &>> 3) &+ j])
            if f >= 0 { counts[f] &+= 1 }
        } else {
            let f = Int(q.load(fromByteOffset: 56 &+ j, as: UInt8.self))
            if f != 255 { counts[f] &+= 1 }
        }
    }

    @inline(__always)
    private func standardPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        wide ? wideStandardPathLengthSum(x, counts: counts) : narrowStandardPathLengthSum(x, counts: counts)
    }

    // Two separate functions, each compiled here with `wide` a constant: when a caller in another
    // module inlines `anomalyScore` (cross-module optimisation), it calls these rather than an
    // unspecialised copy that tests `wide` at every step.
    @inline(never)
    private func narrowStandardPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        standardPathLengthSum(x, counts: counts, wide: false)
    }

    @inline(never)
    private func wideStandardPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?) -> Double {
        standardPathLengthSum(x, counts: counts, wide: true)
    }

    /// Axis-parallel trees, 8 at a time so that their independent load chains overlap (the walk of
    /// one tree is a chain of dependent loads; interleaving hides their latency). Each tree is a
    /// few cache-line blocks deep (three levels per block, the leaves in the last one).
    @inline(__always)
    private func standardPathLengthSum(_ x: UnsafePointer<Double>, counts: UnsafeMutablePointer<Int32>?, wide: Bool) -> Double {
        let base = UnsafeRawPointer(blocks)
        let treeStride = layout.blocksPerTree &* 64
        let levels = UnsafePointer(levelTable)
        let levelCount = layout.levelCount
        var sum = 0.0
        var tree = 0
        while tree &+ 8 <= treeCount {
            let t0 = base + tree &* treeStride
            let t1 = t0 + treeStride, t2 = t1 + treeStride, t3 = t2 + treeStride
            let t4 = t3 + treeStride, t5 = t4 + treeStride, t6 = t5 + treeStride, t7 = t6 + treeStride
            var p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0
            var j0 = 0, j1 = 0, j2 = 0, j3 = 0, j4 = 0, j5 = 0, j6 = 0, j7 = 0
            var q0 = t0, q1 = t1, q2 = t2, q3 = t3, q4 = t4, q5 = t5, q6 = t6, q7 = t7
            for level in 0..<levelCount {
                let start = levels[2 &* level]
                q0 = t0 + (start &+ (p0 &<< 6)); q1 = t1 + (start &+ (p1 &<< 6))
                q2 = t2 + (start &+ (p2 &<< 6)); q3 = t3 + (start &+ (p3 &<< 6))
                q4 = t4 + (start &+ (p4 &<< 6)); q5 = t5 + (start &+ (p5 &<< 6))
                q6 = t6 + (start &+ (p6 &<< 6)); q7 = t7 + (start &+ (p7 &<< 6))
                j0 = 0; j1 = 0; j2 = 0; j3 = 0; j4 = 0; j5 = 0; j6 = 0; j7 = 0
                for _ in 0..<levels[2 &* level &+ 1] {
                    step(x, q0, &j0, &p0, wide: wide)
                    step(x, q1, &j1, &p1, wide: wide)
                    step(x, q2, &j2, &p2, wide: wide)
                    step(x, q3, &j3, &p3, wide: wide)
                    step(x, q4, &j4, &p4, wide: wide)
                    step(x, q5, &j5, &p5, wide: wide)
                    step(x, q6, &j6, &p6, wide: wide)
                    step(x, q7, &j7, &p7, wide: wide)
                }
            }
            sum += ((q0.load(fromByteOffset: j0 &<< 3, as: Double.self) + q1.load(fromByteOffset: j1 &<< 3, as: Double.self))
                + (q2.load(fromByteOffset: j2 &<< 3, as: Double.self) + q3.load(fromByteOffset: j3 &<< 3, as: Double.self)))
                + ((q4.load(fromByteOffset: j4 &<< 3, as: Double.self) + q5.load(fromByteOffset: j5 &<< 3, as: Double.self))
                + (q6.load(fromByteOffset: j6 &<< 3, as: Double.self) + q7.load(fromByteOffset: j7 &<< 3, as: Double.self)))
            if let counts {
                countLeaf(counts, q0, j0, wide: wide)
                countLeaf(counts, q1, j1, wide: wide)
                countLeaf(counts, q2, j2, wide: wide)
                countLeaf(counts, q3, j3, wide: wide)
                countLeaf(counts, q4, j4, wide: wide)
                countLeaf(counts, q5, j5, wide: wide)
                countLeaf(counts, q6, j6, wide: wide)
                countLeaf(counts, q7, j7, wide: wide)
            }
            tree &+= 8
        }
        while tree < treeCount {
            let t = base + tree &* treeStride
            var p = 0, j = 0
            var q = t
            for level in 0..<levelCount {
                q = t + (levels[2 &* level] &+ (p &<< 6))
                j = 0
                for _ in 0..<levels[2 &* level &+ 1] { step(x, q, &j, &p, wide: wide) }
            }
            sum += q.load(fromByteOffset: j &<< 3, as: Double.self)
            if let counts { countLeaf(counts, q, j, wide: wide) }
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

/// Where the nodes of a standard tree of height `h` live. The tree is cut into block levels of at
/// most three tree levels; each subtree of a block level is one 64-byte block holding up to seven
/// split values (slots 0…6, heap order within the block, 8 bytes each) and their features (one byte
/// each at 56 + slot). The last block level holds two tree levels (one when h = 1) and, in the
/// slots after its three split nodes, the four leaves' path lengths and features (255: none). So a
/// walk touches ⌈h/3⌉ or so cache lines instead of a line per level (plus the leaf's). Block `q`
/// of a block level (numbered by the heap position of its root in its tree level) is block
/// `firstBlock[level] + q` of the tree.
private struct BlockLayout {
    let depths: [Int]
    let firstBlock: [Int]
    let blocksPerTree: Int
    var levelCount: Int { depths.count }

    init(height h: Int) {
        var d: [Int]
        switch h {
        case ...0: d = []
        case 1: d = [1]
        case 2: d = [2]
        case 3: d = [1, 2]
        default:
            switch h % 3 {
            case 2: d = Array(repeating: 3, count: h / 3) + [2]
            case 1: d = Array(repeating: 3, count: (h - 4) / 3) + [2, 2]
            default: d = Array(repeating: 3, count: (h - 6) / 3) + [2, 2, 2]
            }
        }
        depths = d
        var first: [Int] = []
        var total = 0
        var depth = 0
        for levels in d {
            first.append(total)
            total += 1 << depth
            depth += levels
        }
        firstBlock = first
        blocksPerTree = max(total, 1)
    }

    /// Block and slot of the node at heap position `position` of tree level `depth` (a leaf when
    /// `depth` is the height).
    func location(depth: Int, position: Int) -> (block: Int, slot: Int) {
        var start = 0
        for (level, levels) in depths.enumerated() {
            if depth < start + levels || level == depths.count - 1 {
                let s = depth - start
                return (firstBlock[level] + (position >> s), (1 << s) - 1 + (position & ((1 << s) - 1)))
            }
            start += levels
        }
        return (0, 0)
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
