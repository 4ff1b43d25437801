// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
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
/// FFTW plans are shared process-wide. So 10 000 sensors at window 256 cost about 20 MB, not 150.
///
/// Threading: like every `StreamingDetector`, a value is updated by one thread at a time. It may
/// move between threads (resharding): it then picks up the new thread's scratch. `update`
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
    private var scratch: SpectralResidualScratch.Handle?

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

    public mutating func update(timestamp: Int64, value: Double) -> DetectorOutput? {
        let w = configuration.window
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
        let kernel = SpectralResidualScratch.kernel(count: transformLength, cached: &scratch)

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
}

/// Per-thread scratch kernels of the spectral residual detector, one per extended length.
///
/// Each thread's set lives in a POSIX thread-specific slot (`pthread_key_create`) and is released
/// when the thread exits. A detector caches a `Handle` (a strong reference to the set it last used
/// and the kernel); on each score it compares the cached set with the thread's by identity
/// (`pthread_getspecific`, no lock), so a detector moved to another thread never shares scratch
/// with a detector running concurrently. The strong reference keeps an exited thread's set alive
/// for detectors that still hold it, so its address cannot be reused by another thread's set.
enum SpectralResidualScratch {
    /// One thread's kernels by extended length. Only its own thread touches `kernels`.
    final class ThreadSet: @unchecked Sendable {
        var kernels: [Int: SpectralResidualKernel] = [:]
    }

    /// What a detector caches: the thread set it was taken from and the kernel of its length.
    struct Handle: @unchecked Sendable {
        let owner: ThreadSet
        let kernel: SpectralResidualKernel
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<ThreadSet>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<ThreadSet>.fromOpaque(pointer).release() }
            #endif
        }
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()

    /// The calling thread's kernel of length `count`, reusing `cached` when it belongs to this thread.
    @inline(__always)
    static func kernel(count: Int, cached: inout Handle?) -> SpectralResidualKernel {
        let current = pthread_getspecific(key)
        if let handle = cached, let current, Unmanaged.passUnretained(handle.owner).toOpaque() == current {
            return handle.kernel
        }
        let handle = slowHandle(count: count, current: current)
        cached = handle
        return handle.kernel
    }

    @inline(never)
    private static func slowHandle(count: Int, current: UnsafeMutableRawPointer?) -> Handle {
        let set: ThreadSet
        if let current {
            set = Unmanaged<ThreadSet>.fromOpaque(current).takeUnretainedValue()
        } else {
            set = ThreadSet()
            pthread_setspecific(key, Unmanaged.passRetained(set).toOpaque())
        }
        if let k = set.kernels[count] { return Handle(owner: set, kernel: k) }
        let k = SpectralResidualKernel(count: count)
        set.kernels[count] = k
        return Handle(owner: set, kernel: k)
    }
}
