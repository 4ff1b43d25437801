// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// The Numenta Anomaly Benchmark's scoring algorithm (NAB `nab/sweeper.py`, `nab/scorer.py`,
/// `nab/optimizer.py` and the normalisation in `nab/runner.py`), written from its description:
///
/// - **Rows, not time.** Each file's labelled windows are row ranges (`NABSeries`). The first
///   `NABSeries.probation` rows of each file are not scored.
/// - **Position in a window.** A row i in a window whose last row is r and width w sits at
///   x = −(r − i + 1)/w (−1 on the window's first row, just below 0 on its last). A row after a
///   window sits at x = |i − r| / (w − 1) of the window before it. `scaledSigmoid(x)` is
///   2·σ(−5x) − 1, and −1 for x > 3.
/// - **Score of a file at a threshold.** A row is a detection when its anomaly score is at or
///   above the threshold. In each window only the best detection counts, which is the earliest
///   one: tpWeight · scaledSigmoid(x) / scaledSigmoid(−1) (exactly tpWeight on the first row). A
///   window without detection costs fnWeight. A detection outside every window costs
///   fpWeight · scaledSigmoid(x) of the preceding window (it may even earn a little just after a
///   window), or fpWeight when no window precedes it.
/// - **Which detections a threshold means** follows NAB exactly: NAB sweeps the file's rows from
///   the highest score down, recording a row of results at its start threshold 1.1 (nothing
///   detected) and at every distinct score (every point at or above it detected); a threshold
///   selects the row with an equal threshold, else the row before the first lower one. For
///   scores in NAB's range [0, 1] that is "score ≥ threshold". Where NAB finds no row (every row
///   above the threshold) every point is detected; where the very first row is lower, nothing is.
/// - **Corpus.** The raw score is the sum of the files' scores; normalised, 100 · (raw − null) /
///   (perfect − null) with null = the raw score without any detection (−fnWeight per window that
///   has a scored row) and perfect = tpWeight per window.
/// - **Optimised threshold.** As NAB's optimiser: one sweep over every scored row of the whole
///   corpus from the highest score down; the threshold of the first row with the highest raw
///   score. Its figures are then those of scoring each file at that threshold, as NAB's
///   `--optimize --score` does.
///
/// A window of one row followed by a detection is a division by zero in NAB; here the detection
/// counts as far from the window (cost fpWeight).
///
/// Cost: `rank` sorts every scored row once (a radix sort, O(n)); each `optimise` and `score` is
/// then linear. The labels part (`init`) is computed once, so a tuner scores many sets of anomaly
/// scores against one `NABScorer`.
///
/// Threading: a value; every method may run concurrently.
public struct NABScorer: Sendable {
    /// NAB's first threshold in a sweep: above every score in its range, so nothing is detected.
    public static let startThreshold = 1.1

    /// The files, in the order their scores are given.
    public let series: [NABSeries]
    /// Windows of all files.
    public let windowCount: Int
    /// Windows that have at least one scored row (outside the probationary period).
    public let scoredWindowCount: Int

    // One entry per scored row of the corpus ("point"), files one after the other.
    /// First point of each file; `fileStart[series.count]` is the number of points.
    let fileStart: [Int]
    /// The file of each point.
    let fileOf: [Int32]
    /// The window of each point (numbered over the corpus), −1 outside windows.
    let windowOf: [Int32]
    /// scaledSigmoid of the point's position (in its window, or past the preceding window), or
    /// −1 outside windows with none before.
    let unweighted: [Double]
    /// Per file, the corpus numbers of its windows that have a scored row.
    let scoredWindows: [Range<Int>]

    /// Prepares the labels part of the score of `series`.
    public init(series: [NABSeries]) {
        self.series = series
        var fileStart: [Int] = [0]
        var fileOf: [Int32] = [], windowOf: [Int32] = [], unweighted: [Double] = []
        let total = series.reduce(0) { $0 + max($1.rowCount - $1.probation, 0) }
        fileOf.reserveCapacity(total); windowOf.reserveCapacity(total); unweighted.reserveCapacity(total)
        var scoredWindows: [Range<Int>] = []
        var windowBase = 0
        var scoredCount = 0
        for (f, s) in series.enumerated() {
            let probation = s.probation
            var next = 0                       // next window of the file
            var current: ClosedRange<Int>? = nil
            var previous: ClosedRange<Int>? = nil
            var firstScored: Int? = nil, lastScored = 0
            for i in 0..<s.rowCount {
                if current == nil, next < s.windows.count, s.windows[next].lowerBound == i {
                    current = s.windows[next]
                    next += 1
                }
                let u: Double
                var window: Int32 = -1
                if let w = current {
                    let width = Double(w.count)
                    u = Self.scaledSigmoid(Double(-(w.upperBound - i + 1)) / width)
                    window = Int32(windowBase + next - 1)
                } else if let p = previous {
                    u = Self.scaledSigmoid(Double(abs(p.upperBound - i)) / Double(p.count - 1))
                } else {
                    u = -1
                }
                if i >= probation {
                    fileOf.append(Int32(f))
                    windowOf.append(window)
                    unweighted.append(u)
                    if window >= 0 {
                        if firstScored == nil { firstScored = Int(window) }
                        lastScored = Int(window)
                    }
                }
                if let w = current, i == w.upperBound {
                    previous = w
                    current = nil
                }
            }
            let scored = firstScored.map { $0..<(lastScored + 1) } ?? windowBase..<windowBase
            scoredWindows.append(scored)
            scoredCount += scored.count
            windowBase += s.windows.count
            fileStart.append(fileOf.count)
        }
        self.fileStart = fileStart
        self.fileOf = fileOf
        self.windowOf = windowOf
        self.unweighted = unweighted
        self.scoredWindows = scoredWindows
        self.windowCount = windowBase
        self.scoredWindowCount = scoredCount
    }

    /// NAB's scaled sigmoid: 2·σ(−5x) − 1 = 2 / (1 + e^{5x}) − 1, and −1 for x > 3.
    @inline(__always)
    public static func scaledSigmoid(_ x: Double) -> Double {
        if x > 3 { return -1 }
        return 2 * (1 / (1 + exp(-(-5 * x)))) - 1
    }

    /// scaledSigmoid(−1): the reward of a detection on a window's first row before weighting.
    static let maxTruePositive = scaledSigmoid(-1)

    /// The raw score without any detection: −fnWeight per window with a scored row.
    public func nullScore(_ profile: NABProfile) -> Double { -profile.fnWeight * Double(scoredWindowCount) }
    /// The raw score of a perfect detector: tpWeight per window.
    public func perfectScore(_ profile: NABProfile) -> Double { profile.tpWeight * Double(windowCount) }

    /// `raw` on NAB's scale: 100 · (raw − null) / (perfect − null); nil without windows.
    public func normalised(_ raw: Double, _ profile: NABProfile) -> Double? {
        let null = nullScore(profile), perfect = perfectScore(profile)
        return perfect == null ? nil : 100 * (raw - null) / (perfect - null)
    }

    /// Sorts the scored rows of `scores` (one array per file, `series[f].rowCount` values,
    /// finite) once, for any number of `optimise` and `score` calls.
    public func rank(_ scores: [[Double]]) -> Ranking {
        precondition(scores.count == series.count, "one score array per file")
        var flat: [Double] = []
        flat.reserveCapacity(fileStart.last!)
        for (f, s) in series.enumerated() {
            precondition(scores[f].count == s.rowCount, "\(s.name): \(scores[f].count) scores for \(s.rowCount) rows")
            let scored = scores[f][min(s.probation, s.rowCount)...]
            precondition(scored.allSatisfy(\.isFinite), "\(s.name): anomaly scores must be finite")
            flat.append(contentsOf: scored)
        }
        return Ranking(scorer: self, scores: flat)
    }

    /// The threshold NAB's optimiser picks for `scores` under `profile`, and the score it gives.
    public func optimise(_ scores: [[Double]], profile: NABProfile) -> NABScore {
        rank(scores).optimise(profile)
    }

    /// The score of `scores` at `threshold` under `profile`.
    public func score(_ scores: [[Double]], profile: NABProfile, threshold: Double) -> NABScore {
        rank(scores).score(profile, threshold: threshold)
    }

    /// Which points a threshold detects in one file, by NAB's rule (see the type's comment).
    enum Selection: Equatable {
        /// No point.
        case nothing
        /// Every point whose score is at or above the value.
        case atLeast(Double)
    }

    /// NAB's choice of result row for `threshold` among the rows of a sweep over `descending`
    /// (the file's scores, highest first): the row with an equal threshold, else the row before
    /// the first lower one.
    static func selection<S: Sequence<Double>>(descending scores: S, threshold: Double) -> Selection {
        var rowThreshold = startThreshold
        var row = Selection.nothing
        var previous: Selection? = nil
        for s in scores {
            if s != rowThreshold {
                // The row at `rowThreshold` is complete.
                if rowThreshold == threshold { return row }
                if rowThreshold < threshold { return previous ?? .nothing }
                previous = row
                rowThreshold = s
            }
            row = .atLeast(s)
        }
        if rowThreshold == threshold { return row }
        if rowThreshold < threshold { return previous ?? .nothing }
        return row
    }

    /// A detector's scored rows sorted by anomaly score (highest first, ties in corpus order, as
    /// NAB's stable sort leaves them), ready to be scored under any profile and threshold.
    public struct Ranking: Sendable {
        /// The scorer that made it.
        public let scorer: NABScorer
        /// The anomaly score of each point.
        let scores: [Double]
        /// Points, highest score first.
        let order: [Int32]
        /// Points grouped by file (`scorer.fileStart`), each file's highest score first.
        let fileOrder: [Int32]

        init(scorer: NABScorer, scores: [Double]) {
            self.scorer = scorer
            self.scores = scores
            order = Self.descendingOrder(scores)
            // Stable bucketing by file keeps each file's points in descending order.
            var next = Array(scorer.fileStart.dropLast())
            var byFile = [Int32](repeating: 0, count: scores.count)
            for g in order {
                let f = Int(scorer.fileOf[Int(g)])
                byFile[next[f]] = g
                next[f] += 1
            }
            fileOrder = byFile
        }

        /// The threshold NAB's optimiser finds: the first row, sweeping the whole corpus from
        /// the highest score down, with the highest raw score (`startThreshold` when no
        /// detection beats none).
        public func bestThreshold(_ profile: NABProfile) -> Double {
            let s = scorer
            let tp = profile.tpWeight, fp = profile.fpWeight
            var part = [Double](repeating: -profile.fnWeight, count: s.windowCount)
            var windowSum = s.nullScore(profile)
            var fpSum = 0.0
            var current = NABScorer.startThreshold
            var best = -Double.infinity, bestThreshold = current
            scores.withUnsafeBufferPointer { score in
                s.windowOf.withUnsafeBufferPointer { windowOf in
                    s.unweighted.withUnsafeBufferPointer { unweighted in
                        part.withUnsafeMutableBufferPointer { part in
                            for g32 in order {
                                let g = Int(g32)
                                let x = score[g]
                                if x != current {
                                    let total = fpSum + windowSum
                                    if total > best { best = total; bestThreshold = current }
                                    current = x
                                }
                                let w = Int(windowOf[g])
                                if w >= 0 {
                                    let v = unweighted[g] * tp / NABScorer.maxTruePositive
                                    if v > part[w] { windowSum += v - part[w]; part[w] = v }
                                } else {
                                    fpSum += unweighted[g] * fp
                                }
                            }
                        }
                    }
                }
            }
            if fpSum + windowSum > best { bestThreshold = current }
            return bestThreshold
        }

        /// NAB's optimised threshold under `profile` and the score it gives.
        public func optimise(_ profile: NABProfile) -> NABScore {
            score(profile, threshold: bestThreshold(profile))
        }

        /// The score at `threshold` under `profile`: each file scored on its own (with NAB's
        /// rule for the detections a threshold means), summed.
        public func score(_ profile: NABProfile, threshold: Double) -> NABScore {
            let s = scorer
            let tpWeight = profile.tpWeight, fpWeight = profile.fpWeight, fnWeight = profile.fnWeight
            var part = [Double](repeating: -fnWeight, count: s.windowCount)
            var raw = 0.0
            var tp = 0, fp = 0, fn = 0, tn = 0
            for f in s.series.indices {
                let points = s.fileStart[f]..<s.fileStart[f + 1]
                let selection = NABScorer.selection(descending: fileOrder[points].lazy.map { self.scores[Int($0)] },
                                                    threshold: threshold)
                var cutoff = Double.infinity
                if case .atLeast(let c) = selection { cutoff = c }
                var fpSum = 0.0
                for g in points {
                    let detected = scores[g] >= cutoff
                    let w = Int(s.windowOf[g])
                    if w >= 0 {
                        if detected {
                            tp += 1
                            part[w] = max(part[w], s.unweighted[g] * tpWeight / NABScorer.maxTruePositive)
                        } else {
                            fn += 1
                        }
                    } else if detected {
                        fp += 1
                        fpSum += s.unweighted[g] * fpWeight
                    } else {
                        tn += 1
                    }
                }
                var fileScore = fpSum
                for w in s.scoredWindows[f] { fileScore += part[w] }
                raw += fileScore
            }
            return NABScore(threshold: threshold, raw: raw, normalised: s.normalised(raw, profile),
                            truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn)
        }

        /// Indices of `scores` from the highest score to the lowest, equal scores in index order:
        /// a stable LSD radix sort, 11 bits a pass, on order-preserving keys; every histogram is
        /// counted in one read, and passes whose digit all keys share are skipped.
        static func descendingOrder(_ scores: [Double]) -> [Int32] {
            let n = scores.count
            precondition(n < Int(Int32.max))
            let radix = 11, buckets = 1 << radix, passes = (64 + radix - 1) / radix
            let mask = UInt64(buckets - 1)
            var keys = [UInt64](repeating: 0, count: n)
            var index = [Int32](repeating: 0, count: n)
            var counts = [Int](repeating: 0, count: buckets * passes)
            scores.withUnsafeBufferPointer { scores in
                keys.withUnsafeMutableBufferPointer { keys in
                    index.withUnsafeMutableBufferPointer { index in
                        counts.withUnsafeMutableBufferPointer { counts in
                            for i in 0..<n {
                                // Ascending keys for descending scores: the order-preserving image
                                // of the bits, flipped (+ 0.0 turns −0 into +0).
                                let bits = (scores[i] + 0.0).bitPattern
                                let key = ~(bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63))
                                keys[i] = key
                                index[i] = Int32(truncatingIfNeeded: i)
                                for p in 0..<passes {
                                    counts[p &* buckets &+ Int((key >> UInt64(p &* radix)) & mask)] &+= 1
                                }
                            }
                        }
                    }
                }
            }
            var keys2 = [UInt64](repeating: 0, count: n)
            var index2 = [Int32](repeating: 0, count: n)
            for p in 0..<passes {
                let base = p * buckets
                if counts[base..<(base + buckets)].contains(n) { continue }   // nothing would move
                var sum = 0
                for b in base..<(base + buckets) { let c = counts[b]; counts[b] = sum; sum += c }
                let shift = UInt64(p * radix)
                keys.withUnsafeBufferPointer { from in
                    index.withUnsafeBufferPointer { fromIndex in
                        keys2.withUnsafeMutableBufferPointer { to in
                            index2.withUnsafeMutableBufferPointer { toIndex in
                                counts.withUnsafeMutableBufferPointer { counts in
                                    for i in 0..<n {
                                        let key = from[i]
                                        let b = base &+ Int((key >> shift) & mask)
                                        let slot = counts[b]
                                        counts[b] = slot &+ 1
                                        to[slot] = key
                                        toIndex[slot] = fromIndex[i]
                                    }
                                }
                            }
                        }
                    }
                }
                swap(&keys, &keys2)
                swap(&index, &index2)
            }
            return index
        }
    }
}
