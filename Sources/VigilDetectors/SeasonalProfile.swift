// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// The seasonal channel of the surprise detector: a sensor's own cycle (daily, weekly, a batch
/// rhythm), found by autocorrelation, and how far each new block of samples lies from the cycle's
/// profile at its phase.
///
/// - **Blocks**: samples are averaged in blocks of `blockLength` (4); the last `blocks` (256)
///   block means are kept in a ring (1024 samples of history). Blocks that end while the sensor
///   is held (a frozen step) are stored as missing (NaN): skipped by the period search and the
///   profile, never imputed.
/// - **Period**: every `detectEvery` (64) blocks, the autocorrelation of the ring picks the
///   period: the longest-lasting… more precisely the highest local maximum at a lag of at least
///   `minimumPeriod` (6) blocks with r ≥ `onCorrelation` (0.7) that rises at least `prominence`
///   (0.2) above the lowest r at shorter lags. A period already in use is kept while r at it
///   stays ≥ `offCorrelation` (0.5) and no other lag beats it by 0.1 (hysteresis: a cycle does
///   not flicker on and off).
/// - **Profile**: when the period changes, each phase's mean block and mean absolute residual are
///   taken from the ring (the residual scale is half the phase's own, half the overall one, so a
///   phase seen few times is not over-trusted); afterwards each new block moves its phase's mean
///   and scale by `rate` (0.1) of the residual: about ten cycles of memory.
/// - **Score**: the residual `|block − profile[phase]|` divided by the phase's scale (at least 1 %
///   of the ring's standard deviation) and by `winsor` (12), capped at 1, goes into its own
///   `TailLikelihood` (short mean of 6 blocks, horizon / 4), which starts learning anew after two
///   cycles of a new period. The surprise holds between blocks.
///
/// Storage: the profile and its scales (`maxPeriod` values each), the tail histogram, the block
/// ring and the tail's short-mean ring live in the owner's flat buffer (see
/// `SurpriseDetector.Layout`); the period search works in per-thread scratch (`ThreadScratch`),
/// so a step never allocates once its thread has the scratch.
///
/// Precision: block means, the profile and its scales are stored in half precision
/// (`Binary16`) as `(x − origin) / unit` (scales as `s / unit`), `unit` a power of two: every
/// search re-centres `origin` on the ring's mean and sets `unit` so that the ring's largest
/// deviation is about 2¹⁰ units, so 3 significant digits of each value's deviation are kept,
/// whatever the sensor's level and units, with 64 times headroom before a value saturates at
/// ±65504 units. Until the first search, `origin` is the first block and `unit` about a
/// thousandth of its magnitude (at least 2⁻¹⁰).
///
/// Threading: a plain value owned by its detector.
struct SeasonalProfile: Sendable, Equatable {
    /// Samples per block: blocks smooth the noise and cut the ring and the search fourfold.
    static let blockLength = 4
    /// Block means kept: 1024 samples, enough to see four cycles of a 256-sample period.
    static let blocks = 256
    /// The longest period searched: half the ring (two cycles must be seen).
    static let maxPeriod = blocks / 2
    /// Blocks between period searches: the search costs O(blocks²), amortised over 256 samples.
    static let detectEvery = 64
    /// Shortest period in blocks: faster "cycles" are noise or the change channel's business.
    static let minimumPeriod = 6
    /// Autocorrelation needed to adopt a period, and to keep one (hysteresis).
    static let onCorrelation = 0.7
    static let offCorrelation = 0.5
    /// How far the chosen peak must rise above the lowest correlation at shorter lags.
    static let prominence = 0.2
    /// Learning rate of the profile and its scales per cycle (about ten cycles of memory).
    static let rate = 0.1
    /// Residuals are divided by this many scales before the tail model (a residual of 12 typical
    /// ones saturates the raw score).
    static let winsor = 12.0
    /// Blocks in the tail model's short mean.
    static let window = 6
    /// Blocks the tail model learns for at first (then two cycles of each new period).
    static let firstLearn = 32
    /// Scratch doubles a period search needs: the decoded ring, the autocorrelation up to lag
    /// `maxPeriod + 1`, three values per phase, then the centred ring reversed and its mask of
    /// blocks present, each with `lagsPerPass` zeros after it (`autocorrelation`).
    static let scratchCount = blocks + maxPeriod + 2 + 3 * maxPeriod + 2 * (blocks + lagsPerPass)
    /// Deviations are encoded in units of about their largest value over 2¹⁰.
    static let unitsPerSpread = 10

    // Learned: the period (in blocks, 0 = none), the scale floor, the tail model, and the
    // encoding of the stored values (set with the first block, re-centred by each search).
    private(set) var period: Int32 = 0
    private(set) var floor = 0.0
    private(set) var tail = TailLikelihood(learn: firstLearn)
    private var origin = Double.nan
    private var unit = 1.0
    // Recent: the block being summed, the ring's position, the block clock and the last score.
    private var blockSum = 0.0
    private var blockFill: Int32 = 0
    private var next: Int32 = 0
    private var count: Int32 = 0
    private var sinceSearch: Int32 = 0
    private var blockIndex: Int64 = 0
    private(set) var surprise = 0.0
    /// The profile value and scale the last block was scored against (evidence).
    private(set) var expected = 0.0
    private(set) var scale = 0.0

    /// Views of the owner's buffer for one step.
    struct Buffers {
        var profile: HalfSlots
        var scales: HalfSlots
        var bins: FloatSlots
        var ring: HalfSlots
        var tailRing: HalfSlots
    }

    @inline(__always)
    private func encode(_ x: Double) -> UInt16 { x.isNaN ? 0x7E00 : Binary16.saturating((x - origin) / unit) }

    @inline(__always)
    private func decode(_ h: UInt16) -> Double {
        let f = Binary16.float(h)
        return f.isNaN ? .nan : origin + Double(f) * unit
    }

    /// A power of two near `magnitude` / 2¹⁰ (at least 2⁻¹⁰⁰⁰).
    private static func unit(for magnitude: Double) -> Double {
        Double(sign: .plus, exponent: max(magnitude, 0x1p-990).exponent - unitsPerSpread, significand: 1)
    }

    /// Adds `v` to the current block; at a block's end scores it and (unless frozen) learns from
    /// it. Returns the surprise of the last complete block.
    @inline(__always)
    mutating func step(_ v: Double, learn: Bool, forgetting: Double, _ b: Buffers) -> Double {
        blockSum += v
        blockFill += 1
        guard blockFill == Int32(Self.blockLength) else { return surprise }
        completeBlock(learn: learn, forgetting: forgetting, b)
        return surprise
    }

    private mutating func completeBlock(learn: Bool, forgetting: Double, _ b: Buffers) {
        let mean = blockSum / Double(Self.blockLength)
        blockSum = 0
        blockFill = 0
        var push = mean
        if period > 0 {
            let phase = Int(blockIndex % Int64(period))
            let expected = decode(b.profile.bits(phase))
            let phaseScale = Double(b.scales[phase]) * unit
            let e = mean - expected
            let raw = unitInterval(abs(e) / max(phaseScale, floor) / Self.winsor)
            if let p = tail.step(raw, learn: learn, forgetting: forgetting, window: Self.window, bins: b.bins, ring: b.tailRing) {
                surprise = TailLikelihood.surprise(p)
            } else {
                surprise = 0
            }
            self.expected = expected
            self.scale = max(phaseScale, floor)
            if learn {
                b.profile.setBits(phase, encode(expected + Self.rate * e))
                b.scales.setBits(phase, Binary16.saturating((phaseScale + Self.rate * (abs(e) - phaseScale)) / unit))
            } else {
                push = .nan   // a held block is missing from the history
            }
        } else {
            surprise = 0
            if !learn { push = .nan }
        }
        if origin.isNaN && !push.isNaN {
            origin = push
            unit = Self.unit(for: max(abs(push), 1))
        }
        b.ring.setBits(Int(next), encode(push))
        next = next + 1 == Int32(Self.blocks) ? 0 : next + 1
        count = min(count + 1, Int32(Self.blocks))
        blockIndex += 1
        sinceSearch += 1
        if sinceSearch >= Int32(Self.detectEvery) {
            sinceSearch = 0
            if learn { search(b) }
        }
    }

    /// Ring slot of the j-th oldest block mean.
    @inline(__always)
    private func slot(_ j: Int) -> Int { (Int(next) - Int(count) + j + Self.blocks) % Self.blocks }

    /// Searches the period and, when it changes, rebuilds the profile from the ring.
    private mutating func search(_ b: Buffers) {
        let n = Int(count)
        guard n >= 64 else { return }
        var cached: ThreadScratch.Handle<SeasonalScratch>?
        let scratch = ThreadScratch.object(count: Self.scratchCount, cached: &cached) { SeasonalScratch(count: $0) }.values
        // The ring decoded, oldest first.
        let ring = scratch
        for j in 0..<n { ring[j] = decode(b.ring.bits(slot(j))) }
        @inline(__always) func block(_ j: Int) -> Double { ring[j] }
        var mu = 0.0, valid = 0.0
        for j in 0..<n {
            let x = block(j)
            if !x.isNaN {
                mu += x
                valid += 1
            }
        }
        guard valid >= 64 else { return }
        mu /= valid
        var v0 = 0.0, spread = 0.0
        for j in 0..<n {
            let x = block(j)
            if !x.isNaN {
                let d = x - mu
                v0 += d * d
                spread = max(spread, abs(d))
            }
        }
        recentre(on: mu, spread: spread, b)
        guard v0 > 0 else {
            period = 0
            return
        }
        v0 /= valid
        floor = 0.01 * v0.squareRoot()
        // r[L] for L in 1...n/2 + 1 (r[0] unused).
        let r = scratch + Self.blocks
        let half = n / 2
        for lag in 0...(half + 1) { r[lag] = 0 }
        // The sums of the one-lag-at-a-time definition (for each lag L, over the pairs of blocks
        // L apart that are both present: Σ (x − μ)(y − μ) / pairs / v0), eight lags at a time (see
        // `autocorrelation`): a missing block enters as a zero deviation and a zero in the mask.
        let reversed = scratch + Self.reversedOffset
        let present = reversed + Self.blocks + Self.lagsPerPass
        let complete = valid == Double(n)
        for i in 0..<n {
            let x = block(n - 1 - i)
            reversed[i] = x.isNaN ? 0 : x - mu
            present[i] = x.isNaN ? 0 : 1
        }
        for i in n..<(n + Self.lagsPerPass) {
            reversed[i] = 0
            present[i] = 0
        }
        Self.autocorrelation(reversed, present: complete ? nil : present, count: n, lags: min(half + 1, n - 1),
                             variance: v0, into: r)
        var best = 0, bestR = -1.0, minSoFar = 1.0
        for lag in 2...half where lag >= Self.minimumPeriod {
            minSoFar = min(minSoFar, r[lag - 1])
            if r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1] && r[lag] >= Self.onCorrelation
                && r[lag] - minSoFar >= Self.prominence && r[lag] > bestR {
                best = lag
                bestR = r[lag]
            }
        }
        var newPeriod = best
        let current = Int(period)
        if current > 0 && current + 1 <= half + 1 {
            let rp = max(r[current - 1], r[current], r[current + 1])
            if rp >= Self.offCorrelation && (best == 0 || bestR < rp + 0.1) {
                newPeriod = current
                bestR = rp
            }
        }
        guard newPeriod != current else { return }
        period = Int32(newPeriod)
        guard newPeriod > 0 else { return }
        // The profile and per-phase scales from the ring (phase = absolute block index mod P).
        let p = newPeriod
        let sums = r + Self.maxPeriod + 2, counts = sums + p, residuals = sums + 2 * p
        for q in 0..<p {
            sums[q] = 0
            counts[q] = 0
            residuals[q] = 0
        }
        let first = blockIndex - Int64(n)
        for j in 0..<n {
            let x = block(j)
            if !x.isNaN {
                let phase = Int((first + Int64(j)) % Int64(p))
                sums[phase] += x
                counts[phase] += 1
            }
        }
        var all = 0.0, allCount = 0.0
        for q in 0..<p { all += sums[q] }
        for q in 0..<p { allCount += counts[q] }
        let overall = all / max(allCount, 1)
        for q in 0..<p { sums[q] = counts[q] > 0 ? sums[q] / counts[q] : overall }   // now the means
        var e = 0.0, ne = 0.0
        for j in 0..<n {
            let x = block(j)
            if !x.isNaN {
                let phase = Int((first + Int64(j)) % Int64(p))
                let d = abs(x - sums[phase])
                e += d
                ne += 1
                residuals[phase] += d
            }
        }
        let meanResidual = max(e / max(ne, 1), 1e-12)
        for q in 0..<p {
            let own = counts[q] > 1 ? residuals[q] / (counts[q] - 1) : meanResidual
            b.profile.setBits(q, encode(sums[q]))
            b.scales.setBits(q, Binary16.saturating((0.5 * own + 0.5 * meanResidual) / unit))
        }
        tail = TailLikelihood(learn: max(Self.firstLearn, 2 * p))   // learnt after two cycles of refinement
        for k in 0..<TailLikelihood.bins { b.bins[k] = 0 }
        for k in 0..<Self.window { b.tailRing.setBits(k, 0) }
    }

    /// Lags summed together by `autocorrelation`.
    static let lagsPerPass = 8
    /// Where the reversed centred ring starts in the scratch (after the search's other values).
    static let reversedOffset = blocks + maxPeriod + 2 + 3 * maxPeriod

    /// `r[L] = Σ_{j=L}^{n−1} d_j d_{j−L} / k_L / variance` for L in 1...lags (0 where k_L = 0),
    /// where `reversed` holds the deviations d reversed (`reversed[i] = d_{n−1−i}`, 0 for a
    /// missing block) and `present` the same way 1 for a block present and 0 for a missing one,
    /// each followed by `lagsPerPass` zeros; k_L = Σ present_j present_{j−L} is the number of
    /// pairs (n − L when `present` is nil: no block missing).
    ///
    /// The same numbers as summing one lag at a time over the pairs present, bit for bit: each
    /// lag's products are added in the same order (ascending j) from +0, and what the lanes add
    /// besides is ±0 (a missing block's zero, or a zero past the end of `reversed`, times a finite
    /// deviation), which leaves any sum unchanged (a sum of products started at +0 is never −0
    /// when rounding to nearest); the counts are small integers, exact in a `Double`. What
    /// changes is that eight lags share one pass, so their additions are independent (one lag at
    /// a time, with a NaN test per pair, was a chain of dependent additions: a fifth of vigild's
    /// CPU time at 1000 sensors).
    @inline(__always)
    static func autocorrelation(_ reversed: UnsafeMutablePointer<Double>, present: UnsafeMutablePointer<Double>?,
                                count n: Int, lags: Int, variance v0: Double, into r: UnsafeMutablePointer<Double>) {
        let raw = UnsafeRawPointer(reversed)
        let stride = MemoryLayout<Double>.stride
        var first = 1
        while first <= lags {
            var sums = SIMD8<Double>(repeating: 0)
            var pairs = SIMD8<Double>(repeating: 0)
            // Lane t is lag first + t: at j its term is d_j · d_{j−first−t} = reversed[n−1−j] ·
            // reversed[n−1−j+first+t].
            for j in first..<n {
                let at = (n - 1 - j + first) * stride
                sums += SIMD8(repeating: reversed[n - 1 - j]) * raw.loadUnaligned(fromByteOffset: at, as: SIMD8<Double>.self)
            }
            if let present {
                let mask = UnsafeRawPointer(present)
                for j in first..<n {
                    let at = (n - 1 - j + first) * stride
                    pairs += SIMD8(repeating: present[n - 1 - j]) * mask.loadUnaligned(fromByteOffset: at, as: SIMD8<Double>.self)
                }
            }
            for t in 0..<lagsPerPass where first + t <= lags {
                let k = present == nil ? Double(n - first - t) : pairs[t]
                r[first + t] = k > 0 ? sums[t] / k / v0 : 0
            }
            first += lagsPerPass
        }
    }

    /// Re-encodes the ring, the profile and the scales around `centre`, in units of about
    /// `spread` / 2¹⁰ (kept when the ring is flat).
    private mutating func recentre(on centre: Double, spread: Double, _ b: Buffers) {
        let newUnit = spread > 0 ? Self.unit(for: spread) : unit
        guard centre != origin || newUnit != unit else { return }
        let old = self
        origin = centre
        unit = newUnit
        for k in 0..<Self.blocks { b.ring.setBits(k, encode(old.decode(b.ring.bits(k)))) }
        for q in 0..<Self.maxPeriod {
            b.profile.setBits(q, encode(old.decode(b.profile.bits(q))))
            b.scales.setBits(q, Binary16.saturating(Double(b.scales[q]) * old.unit / unit))
        }
    }

    // MARK: Snapshot

    func write(to w: inout SnapshotWriter) {
        w.write(UInt32(bitPattern: period))
        w.write(floor)
        tail.write(to: &w)
        w.write(origin)
        w.write(unit)
        w.write(blockSum)
        w.write(UInt32(bitPattern: blockFill))
        w.write(UInt32(bitPattern: next))
        w.write(UInt32(bitPattern: count))
        w.write(UInt32(bitPattern: sinceSearch))
        w.write(blockIndex)
        w.write(surprise)
        w.write(expected)
        w.write(scale)
    }

    /// The learned part (what a frozen step never changes), for audits.
    func writeLearned(to w: inout SnapshotWriter) {
        w.write(UInt32(bitPattern: period))
        w.write(floor)
        tail.writeLearned(to: &w)
        w.write(origin)
        w.write(unit)
    }

    static func read(from r: inout SnapshotReader) throws(SnapshotError) -> SeasonalProfile {
        var s = SeasonalProfile()
        let period = Int32(bitPattern: try r.readUInt32("seasonal period"))
        s.floor = try r.readFinite("seasonal floor")
        s.tail = try TailLikelihood.read(from: &r, window: window)
        s.origin = try r.readDouble("seasonal origin")
        s.unit = try r.readFinite("seasonal unit")
        guard !s.origin.isInfinite, s.unit > 0 else { throw r.corrupt("seasonal encoding out of range") }
        s.blockSum = try r.readFinite("seasonal block sum")
        let fill = Int32(bitPattern: try r.readUInt32("seasonal block fill"))
        let next = Int32(bitPattern: try r.readUInt32("seasonal ring next"))
        let count = Int32(bitPattern: try r.readUInt32("seasonal ring count"))
        let since = Int32(bitPattern: try r.readUInt32("seasonal search clock"))
        let index = try r.readInt64("seasonal block index")
        s.surprise = try r.readFinite("seasonal surprise")
        s.expected = try r.readDouble("seasonal expected")
        s.scale = try r.readDouble("seasonal scale")
        guard (0...Int32(maxPeriod)).contains(period), (0..<Int32(blockLength)).contains(fill),
              (0..<Int32(blocks)).contains(next), (0...Int32(blocks)).contains(count),
              (0..<Int32(detectEvery)).contains(since), index >= 0, index < Int64(1) << 62 else {
            throw r.corrupt("seasonal state out of range")
        }
        s.period = period
        s.blockFill = fill
        s.next = next
        s.count = count
        s.sinceSearch = since
        s.blockIndex = index
        return s
    }
}

/// Per-thread scratch of a period search (`SeasonalProfile.scratchCount` doubles).
final class SeasonalScratch {
    let values: UnsafeMutablePointer<Double>

    init(count: Int) {
        values = .allocate(capacity: count)
        values.initialize(repeating: 0, count: count)
    }

    deinit { values.deallocate() }
}
