// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// The surprise detector: Vigil's per-sensor detector. Several channels each turn one aspect of
/// the sensor's behaviour into a surprise `S = −log10 p`, p the probability of what was just seen
/// given what was seen while the sensor was in control; the score is the largest. An alert at
/// `S ≥ 4` means "less likely than 1 in 10 000 under this sensor's own normal behaviour", the same
/// on every sensor, whatever its scale.
///
/// Channels (each can be switched off in the configuration):
/// - **change**: |Δx| against its exponentially weighted mean (rate `changeRate`), divided by
///   `changeWinsor` and capped at 1; its 10-sample mean goes through a `TailLikelihood`. Spikes,
///   steps, a sudden rise in noise.
/// - **level**: x − μ against a slow baseline μ (the running mean during warm-up, then an
///   exponentially weighted one at rate `levelRate`) in units of `levelWinsor` mean absolute
///   deviations, once upwards and once downwards, each with its own `TailLikelihood`. Shifts and
///   drifts away from the usual level.
/// - **range**: the value beyond the range of every in-control value seen since the regime began
///   by more than `rangeTolerance` of its width: `S = threshold · out / tolerance`, so the
///   tolerance itself is worth the threshold. New extremes.
/// - **recent range**: the same against a forgetting range (both bounds relax towards μ by
///   1/horizon per in-control sample) with the wide tolerance `recentTolerance`. A jump far
///   outside what the sensor did lately, though within its distant past.
/// - **seasonal**: the sensor's own cycle and its profile (`SeasonalProfile`). A missing or
///   deformed cycle whose values each stay in range.
///
/// The ranges are armed once the warm-up is over and they have stopped growing: no would-be
/// exit for `armQuiet` samples (or after `armLatest` samples at the latest).
///
/// Learning: with `learn: false` (`SensorDetectors` passes it while the sensor's alert is held)
/// nothing learned changes: the ranges, baselines, typical change, histograms and tail fits, the
/// period, profile and scales stay byte for byte as they were (`writeLearned(to:)`). What keeps
/// moving is the detector's clock and scoring context: the previous value, the short means that
/// smooth each channel, the block history of the seasonal channel (in which held blocks are
/// marked missing) and the ranges' arming schedule, so that a held fault is scored on its own
/// latest samples. `relearn()` (after a hold of `relearn_after` samples: a new regime) forgets
/// the ranges, the level baseline with its tail models and the seasonal model, and warms them up
/// again; the change channel is kept, since a new level does not change how the sensor moves.
///
/// Memory: the scalars inline (`MemoryLayout<SurpriseDetector>.size`), every histogram, ring and
/// profile in one flat buffer of `Layout.bytes` bytes (`memoryFootprint`): the four histograms in
/// single precision (they accumulate weights), the short means, the seasonal block history,
/// profile and scales in half precision (`Binary16`; NAB's scores are unchanged by either).
///
/// Threading: a value owned by one worker thread. `update` allocates nothing (the period search
/// uses per-thread scratch) and costs O(1) amortised: a tail fit reads 100 bins every 100
/// samples, a period search O(256²) operations every 256 samples.
public struct SurpriseDetector: StreamingDetector {
    /// The settings this detector was built from.
    public typealias Configuration = SurpriseConfiguration

    // Constants of the channels, each with its reason (the research behind them is summarised
    // in ARCHITECTURE.md, "The surprise detector").
    /// Rate of the typical change: a memory of about 50 samples, quick enough to follow a sensor
    /// whose noise changes slowly, slow enough that one spike barely moves it.
    static let changeRate = 0.02
    /// A change of 5 typical changes saturates the raw change score: beyond it, only how long the
    /// jumps last matters.
    static let changeWinsor = 5.0
    /// Samples in the short mean of the change and level channels: one outlier is worth a tenth,
    /// ten in a row are a certainty.
    static let shortWindow = 10
    /// Rate of the level baseline after warm-up (a memory of about 330 samples): slow enough that
    /// a shift stands out for many samples, fast enough to follow normal drift.
    static let levelRate = 0.003
    /// A level 20 typical deviations away saturates the raw level score.
    static let levelWinsor = 20.0
    /// Beyond the range by 2 % of its width is worth the threshold.
    static let rangeTolerance = 0.02
    /// Beyond the recent range by half its width is worth the threshold.
    static let recentTolerance = 0.5
    /// A range is armed after this many samples without a would-be exit…
    static let armQuiet = 100
    /// …or this many samples after the regime began, whichever comes first.
    static let armLatest = 400

    /// Where each part lives in the flat buffer, as byte offsets: the learned parts first
    /// (`learnedBytes`), then the recent context. Histograms hold single-precision counts, the
    /// rest half-precision values.
    enum Layout {
        static let bins = TailLikelihood.bins
        static let changeBins = 0
        static let upBins = changeBins + 4 * bins
        static let downBins = upBins + 4 * bins
        static let seasonalBins = downBins + 4 * bins
        static let profile = seasonalBins + 4 * bins
        static let scales = profile + 2 * SeasonalProfile.maxPeriod
        /// Bytes that only learning changes.
        static let learnedBytes = scales + 2 * SeasonalProfile.maxPeriod
        static let changeRing = learnedBytes
        static let upRing = changeRing + 2 * shortWindow
        static let downRing = upRing + 2 * shortWindow
        static let seasonalRing = downRing + 2 * shortWindow
        static let blocks = seasonalRing + 2 * SeasonalProfile.window
        /// Bytes of the buffer.
        static let bytes = blocks + 2 * SeasonalProfile.blocks
    }

    public var kind: DetectorKind { .surprise }
    public let configuration: Configuration
    /// The alert threshold: the ranges' surprise equals it at their tolerance.
    public let threshold: Double

    // Clock and scoring context.
    private var seen = 0
    private var regimeStart = 0
    private var lastGrowth = 0
    private var armed = false
    private var previous = Double.nan
    // Learned.
    private var range = ValueEnvelope()
    private var recentRange = ValueEnvelope()
    private var typicalChange = 0.0
    private var baseline = Double.nan
    private var deviation = 0.0
    private var change: TailLikelihood
    private var up: TailLikelihood
    private var down: TailLikelihood
    private var seasonal = SeasonalProfile()
    /// Histograms, profile, rings (`Layout`), as 16-bit words.
    private var store: [UInt16]

    /// A detector for one sensor alerting at surprise `threshold` (> 0).
    public init(configuration: Configuration = .init(), threshold: Double = 4) {
        precondition(configuration.warmup >= 2 && configuration.horizon >= 8, "warmup ≥ 2, horizon ≥ 8")
        precondition(threshold > 0)
        self.configuration = configuration
        self.threshold = threshold
        change = TailLikelihood(learn: configuration.warmup / 2)
        up = change
        down = change
        store = [UInt16](repeating: 0, count: Layout.bytes / 2)
    }

    /// Bytes this detector holds: its inline size plus its buffer (with the array's header).
    public var memoryFootprint: Int {
        MemoryLayout<SurpriseDetector>.size + store.capacity * MemoryLayout<UInt16>.stride + 32
    }

    /// Scores `value` and, when `learn`, learns from it (see the type's comment for what a frozen
    /// step changes). Nil during the first warm-up, while no channel can score.
    public mutating func update(timestamp: Int64, value v: Double, learn: Bool) -> DetectorOutput? {
        var buffer: [UInt16] = []
        swap(&buffer, &store)
        defer { swap(&buffer, &store) }
        return buffer.withUnsafeMutableBytes { step(v, learn: learn, $0.baseAddress!) }
    }

    @inline(__always)
    private mutating func step(_ v: Double, learn: Bool, _ b: UnsafeMutableRawPointer) -> DetectorOutput? {
        seen += 1
        let c = configuration
        let forgetting = 1 - 1 / Double(c.horizon)
        var score = 0.0

        // Change: |Δx| against its typical size.
        var sChange = 0.0
        var delta = 0.0
        let typical = typicalChange
        if c.change {
            var raw = 0.0
            if !previous.isNaN {
                delta = abs(v - previous)
                raw = typicalChange > 0 ? delta / typicalChange : 0
                if learn { typicalChange += Self.changeRate * (delta - typicalChange) }
            }
            if let p = change.step(raw / Self.changeWinsor, learn: learn, forgetting: forgetting, window: Self.shortWindow,
                                   bins: FloatSlots(b + Layout.changeBins), ring: HalfSlots(b + Layout.changeRing)) {
                sChange = TailLikelihood.surprise(p)
            }
            score = max(score, sChange)
        }
        previous = v

        // Level: above or below the slow baseline.
        var sLevel = 0.0
        var upward = true
        let levelBaseline = baseline
        var levelScale = deviation
        if baseline.isNaN {
            if learn {
                baseline = v
                regimeStart = seen - 1
            }
        } else {
            let dv = v - baseline
            let sc = max(deviation, 1e-9 * max(abs(baseline), 1))
            levelScale = sc
            if c.level {
                let pu = up.step(dv / (Self.levelWinsor * sc), learn: learn, forgetting: forgetting, window: Self.shortWindow,
                                 bins: FloatSlots(b + Layout.upBins), ring: HalfSlots(b + Layout.upRing))
                let pl = down.step(-dv / (Self.levelWinsor * sc), learn: learn, forgetting: forgetting, window: Self.shortWindow,
                                   bins: FloatSlots(b + Layout.downBins), ring: HalfSlots(b + Layout.downRing))
                if let pu, let pl {
                    sLevel = TailLikelihood.surprise(min(pu, pl))
                    upward = pu <= pl
                }
                score = max(score, sLevel)
            }
            if learn {
                let since = seen - regimeStart
                let a = since < c.warmup ? 1 / Double(since) : Self.levelRate
                baseline += a * dv
                deviation += a * (abs(dv) - deviation)
            }
        }

        // Ranges: beyond every in-control value, or far beyond the recent ones.
        var sRange = 0.0
        var rangeIsRecent = false
        let rangeBounds = (range.lower, range.upper), recentBounds = (recentRange.lower, recentRange.upper)
        if c.range || c.recentRange {
            if !armed {
                if range.outside(v) > Self.rangeTolerance { lastGrowth = seen }
                if seen > regimeStart + c.warmup && (seen - lastGrowth >= Self.armQuiet || seen > regimeStart + Self.armLatest) {
                    armed = true
                }
            }
            let out = armed ? range.outside(v) : 0
            let outRecent = armed ? recentRange.outside(v) : 0
            if c.range && out > Self.rangeTolerance { sRange = threshold * out / Self.rangeTolerance }
            if c.recentRange && outRecent > Self.recentTolerance {
                let s = threshold * outRecent / Self.recentTolerance
                if s > sRange {
                    sRange = s
                    rangeIsRecent = true
                }
            }
            score = max(score, sRange)
            if learn {
                range.add(v)
                recentRange.add(v)
                recentRange.forget(towards: baseline, by: 1 / Double(c.horizon))
            }
        }

        // Seasonal: the sensor's own cycle.
        var sSeasonal = 0.0
        if c.seasonal {
            let buffers = SeasonalProfile.Buffers(profile: HalfSlots(b + Layout.profile), scales: HalfSlots(b + Layout.scales),
                                                  bins: FloatSlots(b + Layout.seasonalBins), ring: HalfSlots(b + Layout.blocks),
                                                  tailRing: HalfSlots(b + Layout.seasonalRing))
            sSeasonal = seasonal.step(v, learn: learn, forgetting: 1 - 1 / Double(c.horizon / SeasonalProfile.blockLength), buffers)
            score = max(score, sSeasonal)
        }

        // Nothing can score before the change channel's tail model is ready (a seasonal surprise
        // within a long warm-up still counts).
        guard seen > 2 * (c.warmup / 2) || score > 0 else { return nil }
        // The evidence of the channel that decided the score (ties: seasonal, level, range, change).
        let evidence: SurpriseEvidence
        if c.seasonal && score > 0 && sSeasonal >= score {
            evidence = .seasonal(surprise: sSeasonal, expected: seasonal.expected, scale: seasonal.scale,
                                 periodSamples: seasonal.period * Int32(SeasonalProfile.blockLength))
        } else if c.level && score > 0 && sLevel >= score {
            evidence = .level(surprise: sLevel, baseline: levelBaseline, deviation: levelScale, up: upward)
        } else if score > 0 && sRange >= score {
            let (lower, upper) = rangeIsRecent ? recentBounds : rangeBounds
            evidence = .range(surprise: sRange, lower: lower, upper: upper, recent: rangeIsRecent)
        } else {
            evidence = .change(surprise: sChange, change: delta, typicalChange: typical)
        }
        return DetectorOutput(score: score, evidence: .surprise(evidence))
    }

    /// A new regime: forgets the ranges, the level baseline and its tail models and the seasonal
    /// model, which warm up again from the next sample; keeps the change channel.
    public mutating func relearn() {
        range = ValueEnvelope()
        recentRange = ValueEnvelope()
        regimeStart = seen
        armed = false
        lastGrowth = seen
        baseline = .nan
        deviation = 0
        seasonal = SeasonalProfile()
        up = TailLikelihood(learn: configuration.warmup / 2)
        down = up
        store.withUnsafeMutableBufferPointer { b in
            for k in (Layout.upBins / 2)..<(Layout.changeRing / 2) { b[k] = 0 }   // level and seasonal: learned
            for k in (Layout.upRing / 2)..<(Layout.bytes / 2) { b[k] = 0 }        // level and seasonal: recent
        }
    }

    /// The seasonal period found, in blocks of `SeasonalProfile.blockLength` samples (0: none).
    var seasonalPeriod: Int { Int(seasonal.period) }

    /// The change channel's learned state (for tests of re-learning).
    var changeState: [UInt8] {
        var w = SnapshotWriter()
        w.write(typicalChange)
        change.writeLearned(to: &w)
        for x in store[(Layout.changeBins / 2)..<((Layout.changeBins + 4 * Layout.bins) / 2)] { w.write(UInt32(x)) }
        return w.bytes
    }

    /// The state `relearn()` resets: ranges, level, their tail models and the seasonal model (for
    /// tests of re-learning).
    func writeLevelAndSeasonal(to w: inout SnapshotWriter) {
        w.write(armed)
        range.write(to: &w)
        recentRange.write(to: &w)
        w.write(baseline)
        w.write(deviation)
        up.write(to: &w)
        down.write(to: &w)
        seasonal.write(to: &w)
        for x in store[(Layout.upBins / 2)..<(Layout.changeRing / 2)] { w.write(UInt32(x)) }
        for x in store[(Layout.upRing / 2)..<(Layout.bytes / 2)] { w.write(UInt32(x)) }
    }

    // MARK: Snapshot

    /// Writes the exact state for `restore(from:)`.
    public func write(to w: inout SnapshotWriter) { write(to: &w, layout: 2) }

    /// Record layouts `restore(from:)` reads: 1 wrote the buffer word for word, 2 (written since)
    /// as runs (`writeRuns`), under half the bytes for a warmed sensor.
    static let recordLayouts: ClosedRange<UInt8> = 1...2

    /// Writes the record in `layout` (the current one outside tests of older snapshots).
    func write(to w: inout SnapshotWriter, layout: UInt8) {
        precondition(Self.recordLayouts.contains(layout))
        w.write(layout)
        w.write(seen)
        w.write(regimeStart)
        w.write(lastGrowth)
        w.write(armed)
        w.write(previous)
        range.write(to: &w)
        recentRange.write(to: &w)
        w.write(typicalChange)
        w.write(baseline)
        w.write(deviation)
        change.write(to: &w)
        up.write(to: &w)
        down.write(to: &w)
        seasonal.write(to: &w)
        w.write(UInt32(store.count))
        if layout == 1 { Self.writeWords(store[...], to: &w) } else { Self.writeRuns(store, to: &w) }
    }

    /// `words` as runs, until every word is covered: a `UInt32` holding the number of zero words
    /// (low 16 bits) and of literal words after them (high 16 bits), then the literal words,
    /// little-endian. A sensor's buffer is mostly zeros (histogram bins never reached, the
    /// seasonal profile and its histogram while no period is found): about 60 % of a warmed
    /// sensor's record in a few dozen runs, so the snapshot at SIGTERM is about half the size.
    static func writeRuns(_ words: [UInt16], to w: inout SnapshotWriter) {
        let n = words.count
        // A literal run ends before three zero words in a row (fewer cost less as literals than
        // a new run's header).
        @inline(__always) func zerosAhead(_ k: Int) -> Bool {
            k + 2 < n && words[k] == 0 && words[k + 1] == 0 && words[k + 2] == 0
        }
        var i = 0
        while i < n {
            var z = i
            while z < n && words[z] == 0 && z - i < 0xFFFF { z += 1 }
            var e = z
            while e < n && e - z < 0xFFFF && !(words[e] == 0 && zerosAhead(e)) { e += 1 }
            w.write(UInt32(z - i) | UInt32(e - z) << 16)
            writeWords(words[z..<e], to: &w)
            i = e
        }
    }

    /// Reads `count` words written by `writeRuns`. Throws `SnapshotError` when a run is empty or
    /// goes past `count`.
    static func readRuns(count: Int, from r: inout SnapshotReader) throws(SnapshotError) -> [UInt16] {
        var values = [UInt16](repeating: 0, count: count)
        var i = 0
        while i < count {
            let header = try r.readUInt32("surprise buffer run")
            let zeros = Int(header & 0xFFFF), literals = Int(header >> 16)
            guard zeros + literals > 0, zeros + literals <= count - i else {
                throw r.corrupt("surprise buffer run of \(zeros) zero and \(literals) literal words at word \(i) of \(count)")
            }
            i += zeros
            try readWords(literals, into: &values, at: i, from: &r)
            i += literals
        }
        return values
    }

    /// Reads `n` little-endian 16-bit words into `values[at...]`. Throws `SnapshotError` when
    /// fewer bytes are left.
    private static func readWords(_ n: Int, into values: inout [UInt16], at: Int,
                                  from r: inout SnapshotReader) throws(SnapshotError) {
        let offset = r.offset
        try r.skip(2 * n, "surprise buffer words")
        for k in 0..<n { values[at + k] = UInt16(r.bytes[offset + 2 * k]) | UInt16(r.bytes[offset + 2 * k + 1]) << 8 }
    }

    /// 16-bit words, little-endian.
    private static func writeWords(_ words: ArraySlice<UInt16>, to w: inout SnapshotWriter) {
        #if _endian(little)
        words.withUnsafeBytes { w.writeRaw($0) }
        #else
        for x in words { w.write(UInt8(truncatingIfNeeded: x)); w.write(UInt8(truncatingIfNeeded: x >> 8)) }
        #endif
    }

    /// Writes what a frozen step (`learn: false`) never changes: every learned model, for audits
    /// and the no-learning-into-a-fault tests.
    public func writeLearned(to w: inout SnapshotWriter) {
        range.write(to: &w)
        recentRange.write(to: &w)
        w.write(typicalChange)
        w.write(baseline)
        w.write(deviation)
        change.writeLearned(to: &w)
        up.writeLearned(to: &w)
        down.writeLearned(to: &w)
        seasonal.writeLearned(to: &w)
        Self.writeWords(store[0..<(Layout.learnedBytes / 2)], to: &w)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration: it then
    /// continues bit for bit like the original. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let version = try r.readUInt8("surprise record layout")
        guard Self.recordLayouts.contains(version) else { throw r.corrupt("surprise record layout \(version)") }
        var d = self
        d.seen = try r.readInt("surprise samples seen", in: 0...SnapshotReader.maxCounter)
        d.regimeStart = try r.readInt("surprise regime start", in: 0...d.seen)
        d.lastGrowth = try r.readInt("surprise last range growth", in: 0...d.seen)
        d.armed = try r.readBool("surprise ranges armed")
        d.previous = try r.readDouble("surprise previous value")
        d.range = try ValueEnvelope.read(from: &r)
        d.recentRange = try ValueEnvelope.read(from: &r)
        d.typicalChange = try r.readFinite("surprise typical change")
        d.baseline = try r.readDouble("surprise baseline")
        d.deviation = try r.readFinite("surprise deviation")
        d.change = try TailLikelihood.read(from: &r, window: Self.shortWindow)
        d.up = try TailLikelihood.read(from: &r, window: Self.shortWindow)
        d.down = try TailLikelihood.read(from: &r, window: Self.shortWindow)
        d.seasonal = try SeasonalProfile.read(from: &r)
        // Layout 1 holds every word; layout 2 fewer bytes (runs), each checked as it is read.
        let count = version == 1 ? try r.readCount("surprise buffer", elementSize: 2) : Int(try r.readUInt32("surprise buffer"))
        guard count == Layout.bytes / 2 else {
            throw r.corrupt("surprise buffer of \(count) words where \(Layout.bytes / 2) are expected")
        }
        if version == 1 {
            var values = [UInt16](repeating: 0, count: count)
            try Self.readWords(count, into: &values, at: 0, from: &r)
            d.store = values
        } else {
            d.store = try Self.readRuns(count: count, from: &r)
        }
        self = d
    }
}
