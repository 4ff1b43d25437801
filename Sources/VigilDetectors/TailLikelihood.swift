// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// An empirical tail model of a raw score in [0, 1]: how improbable the short mean of the latest
/// raw scores is, given the distribution of such means while the sensor was in control.
///
/// The short mean `a` of the last `window` raw scores is compared with a histogram of earlier
/// means (`bins` bins over [0, 1], exponential forgetting with factor λ = 1 − 1/horizon). Below
/// the `tailQuantile` of that histogram the probability is flat, `1 − u`; beyond the quantile `q`
/// the tail is exponential with the mean excess β of the means seen there (a generalised Pareto
/// of shape 0): `p(a) = (1 − u) · exp(−(a − q) / β)`. `u` is lowered to `1 − minimumExceedances
/// / n_eff` while the effective sample count is small, so the tail always rests on at least that
/// many means. The quantile and β are re-fitted every `refitEvery` scores.
///
/// Phases: the first `learn` scores only fill the short mean; the next `learn` also go into the
/// histogram; from then on `step` returns probabilities.
///
/// Learning (`learn: false` is a frozen step): the histogram, its weights and the fit never
/// change in a frozen step; the short mean and the clocks (scores seen, scores since the last
/// fit) move on, so a held fault is scored on its own recent samples and a fit is due as soon as
/// learning resumes.
///
/// Storage: the histogram (`bins` single-precision counts) and the short-mean ring (`window`
/// half-precision scores: 3 significant digits of a score in [0, 1]) live in the owner's flat
/// buffer, passed to each call; this value holds the scalars only (72 bytes).
///
/// Threading: a plain value owned by its detector. `step` neither allocates nor locks.
struct TailLikelihood: Sendable, Equatable {
    /// Histogram bins over [0, 1]: a resolution of 0.01 in the short mean.
    static let bins = 100
    /// Scores between re-fits of the quantile and the tail: a fit reads the whole histogram, so
    /// it is amortised over this many samples; the tail changes little in 100 samples.
    static let refitEvery = 100
    /// Quantile beyond which the tail is modelled: p = 1 − u is the most a score below it can be
    /// worth (1 %), so a surprise of 2 needs nothing unusual and one of 4 needs the tail.
    static let tailQuantile = 0.99
    /// Means the tail rests on at least: with fewer, the quantile is lowered (u = 1 − 10/n_eff)
    /// rather than extrapolating from a handful of points (NAB: 75.1 with it, its low-FP profile
    /// 1.1 points worse without).
    static let minimumExceedances = 10.0
    /// Smallest tail scale β: 1 % of the score's range, so a histogram whose tail is one bin wide
    /// does not make every step beyond it astronomically improbable.
    static let minimumTailScale = 0.01
    /// Weights above this are rescaled (by an exact power of two) so that counts stay finite in
    /// single precision (the histogram's total weight stays near `horizon` × the increment).
    static let rescaleAbove = 0x1p64

    // Learned: the histogram's total weight, the weight of the next mean, and the fit.
    private(set) var total = 0.0
    private(set) var increment = 1.0
    private(set) var quantileLevel = tailQuantile
    private(set) var quantile = 0.0
    private(set) var tailScale = 1.0
    private(set) var fitted = false
    // Recent: the short mean and the clocks.
    private var windowSum = 0.0
    /// Scores before the histogram learns (and as many again before probabilities).
    private(set) var learn: Int32
    private var seen: Int32 = 0
    private var sinceFit: Int32 = 0
    private var windowNext: UInt8 = 0
    private var windowCount: UInt8 = 0

    /// A tail model that starts learning after `learn` scores.
    init(learn: Int) {
        precondition(learn >= 0 && learn < Int(Int32.max) / 2 - 1)
        self.learn = Int32(learn)
    }

    /// Scores `raw` (clamped to [0, 1]; NaN counts as 0) and, unless frozen, learns from it.
    /// `bins` is this model's histogram (`TailLikelihood.bins` values), `ring` its short-mean ring
    /// (`window` values); `forgetting` is λ. Returns the tail probability of the short mean, or nil
    /// while learning.
    @inline(__always)
    mutating func step(_ raw: Double, learn learning: Bool, forgetting: Double, window: Int,
                       bins: FloatSlots, ring: HalfSlots) -> Double? {
        let twice = 2 * learn
        if seen <= twice { seen += 1 }   // saturates: only `seen > learn` and `seen > 2 learn` matter
        // The ring keeps the rounded score, and the sum adds and later subtracts exactly that.
        let stored = Binary16.bits(Float(unitInterval(raw)))
        if Int(windowCount) == window {
            windowSum -= Double(ring[Int(windowNext)])
        } else {
            windowCount += 1
        }
        ring.setBits(Int(windowNext), stored)
        windowSum += Double(Binary16.float(stored))
        windowNext = Int(windowNext) + 1 == window ? 0 : windowNext + 1
        let a = unitInterval(windowSum / Double(windowCount))
        guard seen > learn else { return nil }
        if learning {
            let b = min(Int(a * Double(Self.bins)), Self.bins - 1)
            bins[b] = Float(Double(bins[b]) + increment)
            total += increment
            increment /= forgetting   // growing increments are decaying old counts
            if increment > Self.rescaleAbove { rescale(bins) }
        }
        guard seen > twice else { return nil }
        if sinceFit < Int32(Self.refitEvery) { sinceFit += 1 }   // saturates at the refit point
        if learning, sinceFit >= Int32(Self.refitEvery) || !fitted {   // never re-fitted while frozen
            fit(bins)
        }
        if a <= quantile { return 1 - quantileLevel }
        return (1 - quantileLevel) * exp(-(a - quantile) / tailScale)
    }

    /// Re-fits the quantile and the tail scale from the histogram.
    private mutating func fit(_ bins: FloatSlots) {
        sinceFit = 0
        fitted = true
        let effective = total / increment
        quantileLevel = min(Self.tailQuantile, 1 - Self.minimumExceedances / max(effective, 1))
        var c = 0.0
        var kq = Self.bins - 1
        for k in 0..<Self.bins {
            c += Double(bins[k])
            if c >= quantileLevel * total {
                kq = k
                break
            }
        }
        quantile = (Double(kq) + 1) / Double(Self.bins)
        var m = 0.0, w = 0.0
        for k in (kq + 1)..<Self.bins where bins[k] > 0 {
            let count = Double(bins[k])
            m += count * ((Double(k) + 0.5) / Double(Self.bins) - quantile)
            w += count
        }
        tailScale = max(w > 0 ? m / w : 0, Self.minimumTailScale)
    }

    /// Divides every weight by 2⁶⁴ (exact: a power of two).
    private mutating func rescale(_ bins: FloatSlots) {
        let f = 0x1p-64
        for k in 0..<Self.bins { bins[k] = Float(Double(bins[k]) * f) }
        total *= f
        increment *= f
    }

    // MARK: Snapshot

    /// Writes the scalars (the owner writes the buffer).
    func write(to w: inout SnapshotWriter) {
        w.write(total)
        w.write(increment)
        w.write(quantileLevel)
        w.write(quantile)
        w.write(tailScale)
        w.write(fitted)
        w.write(windowSum)
        w.write(UInt32(bitPattern: learn))
        w.write(UInt32(bitPattern: seen))
        w.write(UInt32(bitPattern: sinceFit))
        w.write(windowNext)
        w.write(windowCount)
    }

    /// Writes what a frozen step never changes (the learned part), for audits.
    func writeLearned(to w: inout SnapshotWriter) {
        w.write(total)
        w.write(increment)
        w.write(quantileLevel)
        w.write(quantile)
        w.write(tailScale)
        w.write(fitted)
        w.write(UInt32(bitPattern: learn))
    }

    /// Reads what `write(to:)` wrote; `window` is the ring's length. Throws `SnapshotError`.
    static func read(from r: inout SnapshotReader, window: Int) throws(SnapshotError) -> TailLikelihood {
        let total = try r.readFinite("tail total")
        let increment = try r.readFinite("tail increment")
        let quantileLevel = try r.readFinite("tail quantile level")
        let quantile = try r.readFinite("tail quantile")
        let tailScale = try r.readFinite("tail scale")
        let fitted = try r.readBool("tail fitted")
        let windowSum = try r.readFinite("tail window sum")
        let learn = Int32(bitPattern: try r.readUInt32("tail learn"))
        let seen = Int32(bitPattern: try r.readUInt32("tail seen"))
        let sinceFit = Int32(bitPattern: try r.readUInt32("tail since fit"))
        let next = try r.readUInt8("tail window next")
        let count = try r.readUInt8("tail window count")
        guard learn >= 0, learn < Int32.max / 2 - 1, seen >= 0, seen <= 2 * learn + 1,
              sinceFit >= 0, sinceFit <= Int32(refitEvery), Int(next) < window, Int(count) <= window,
              increment > 0, total >= 0, tailScale > 0 else {
            throw r.corrupt("tail model state out of range")
        }
        var t = TailLikelihood(learn: Int(learn))
        t.total = total
        t.increment = increment
        t.quantileLevel = quantileLevel
        t.quantile = quantile
        t.tailScale = tailScale
        t.fitted = fitted
        t.windowSum = windowSum
        t.seen = seen
        t.sinceFit = sinceFit
        t.windowNext = next
        t.windowCount = count
        return t
    }
}

extension TailLikelihood {
    /// The probability `step` returns below the quantile once the model rests on enough means
    /// (`1 − tailQuantile`): what nearly every step of a sensor in control returns.
    static let flatProbability = 1 - tailQuantile
    /// `−log10(flatProbability)`, as libm's `log10` gives it (checked by a test).
    static let flatSurprise = 0x1.ffffffffffffep+0

    /// The surprise `−log10 p` of a probability `step` returned (p floored at 1e-300): the same
    /// value as the formula, without a logarithm for the flat part's probability.
    @inline(__always)
    static func surprise(_ p: Double) -> Double {
        p == flatProbability ? flatSurprise : -log10(max(p, 1e-300))
    }
}

/// `x` clamped to [0, 1], NaN to 0 (so no input can make a bin index trap).
@inline(__always)
func unitInterval(_ x: Double) -> Double { x > 0 ? (x < 1 ? x : 1) : 0 }
