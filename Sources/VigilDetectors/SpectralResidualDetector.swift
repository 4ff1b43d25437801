// SPDX-License-Identifier: GPL-3.0-or-later
import FFT
import VigilCore

/// Spectral residual detector, latest-point streaming: every scored sample is the batch score
/// (`SpectralResidual.batch`) of the *last* point of the `window` newest values.
///
/// Score: `clip(raw / 10, 0, 1)` as in the reference (in [0, 1]). Evidence: the saliency at the
/// point, its trailing average over `scoreWindow` (the baseline the point is compared with) and the
/// dominant frequency of the extended window in cycles per sample (bin k of N = window +
/// estimatedPoints is k / N; 0 when the window is flat).
///
/// Warm-up: nil until `window` values have been seen; then the first sample is scored and every
/// `hop`-th one after it (nil in between).
///
/// Memory: per detector (per sensor) only the ring of `window` values (8 bytes each) and a few
/// words. The transform's buffers (56·(window + estimatedPoints) bytes) are scratch, kept once
/// per worker thread and per extended size and shared by every detector that thread updates; the
/// FFTW plans are shared process-wide. So 10 000 sensors at window 256 hold about 20 MB of rings,
/// where per-detector buffers would have cost about 170 MB.
///
/// Threading: like every `StreamingDetector`, a value is updated by one thread at a time. It may
/// move between threads (resharding) or be copied: a value picks up the scratch of whichever
/// thread updates it (`ThreadScratch`). `update`
/// allocates nothing once the thread's scratch exists (the first update on a new thread creates it).
public struct SpectralResidualDetector: StreamingDetector {
    public var kind: DetectorKind { .spectralResidual }
    /// The settings this detector was built from.
    public let configuration: SpectralResidualConfiguration
    /// The `window` newest values; `next` is where the next one goes (the oldest value).
    private var ring: [Double]
    private var next = 0
    /// Values seen so far.
    public private(set) var seen = 0
    /// The current thread's scratch, cached; re-fetched when the detector runs on another thread.
    private var scratch: ThreadScratch.Handle<SpectralResidualKernel>?

    /// A detector for one sensor. Preconditions: window ≥ 3 (the configuration asks ≥ 8),
    /// magWindow, scoreWindow, lookAhead and hop ≥ 1, estimatedPoints ≥ 0.
    public init(configuration: SpectralResidualConfiguration = .init()) {
        let c = configuration
        precondition(c.window >= 3, "spectral residual needs a window of at least 3 values")
        precondition(c.magWindow >= 1 && c.scoreWindow >= 1 && c.lookAhead >= 1 && c.hop >= 1 && c.estimatedPoints >= 0)
        self.configuration = c
        ring = [Double](repeating: 0, count: c.window)
    }

    /// Values in the FFT: window + estimatedPoints.
    public var transformLength: Int { configuration.window + configuration.estimatedPoints }

    /// Slides `value` into the window and scores its last point. Without `learn` the window is not
    /// changed: the score is that of the window's newest `window − 1` values followed by `value`
    /// (scored on every sample, ignoring `hop`), so a sustained change keeps standing out against
    /// the values before it.
    public mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput? {
        let w = configuration.window
        guard learn else {
            guard seen >= w else { return nil }
            let slot = next
            let oldest = ring[slot]
            ring[slot] = value
            next = slot + 1 == w ? 0 : slot + 1
            let output = score()
            next = slot
            ring[slot] = oldest
            return output
        }
        ring[next] = value
        next += 1
        if next == w { next = 0 }
        seen += 1
        guard seen >= w, (seen - w) % configuration.hop == 0 else { return nil }
        return score()
    }

    /// Scores the last point of the current window.
    private mutating func score() -> DetectorOutput {
        let c = configuration
        let w = c.window
        let kernel = ThreadScratch.object(count: transformLength, cached: &scratch) { SpectralResidualKernel(count: $0) }

        // The ring, oldest first, into the FFT input: two contiguous copies.
        ring.withUnsafeBufferPointer { r in
            let src = r.baseAddress!, dst = kernel.input.pointer.baseAddress!
            let older = w - next
            dst.update(from: src + next, count: older)
            dst.advanced(by: older).update(from: src, count: next)
        }
        kernel.extend(valueCount: w, lookAhead: c.lookAhead)
        let dominant = kernel.transform(magWindow: c.magWindow)

        // Trailing average of the saliency at the last point t = w − 1: the z values ending there
        // (z cut to N), or all w of them when w < z.
        let z = min(c.scoreWindow, kernel.count)
        let from = max(0, w - z)
        var sum = 0.0
        for t in from..<w { sum += kernel.saliency(at: t) }
        let baseline = sum / Double(w - from)
        let saliency = kernel.saliency(at: w - 1)
        let raw = SpectralResidual.rawScore(saliency: saliency, average: baseline)
        return DetectorOutput(
            score: SpectralResidual.clippedScore(raw),
            evidence: .spectralResidual(saliency: saliency, baseline: baseline,
                                        dominantFrequency: Double(dominant) / Double(kernel.count)))
    }

    // MARK: Snapshot

    /// Writes the exact state (the ring of the last `window` values and the counters) for
    /// `restore(from:)`. The thread scratch is not state.
    public func write(to w: inout SnapshotWriter) {
        w.write(seen)
        w.write(next)
        w.write(ring)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration: the detector
    /// then continues bit for bit like the original. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let w = configuration.window
        let seen = try r.readInt("spectral residual samples seen", in: 0...SnapshotReader.maxCounter)
        let next = try r.readInt("spectral residual next", in: 0...(w - 1))
        let ring = try r.readDoubles("spectral residual ring", count: w)
        guard next == seen % w else { throw r.corrupt("spectral residual position \(next) after \(seen) values") }
        self.seen = seen
        self.next = next
        self.ring = ring
    }
}

