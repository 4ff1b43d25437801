// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CFFTW
import Synchronization

/// How hard FFTW's planner looks for a fast algorithm when a plan size is first used.
public enum FFTRigor: Sendable, Hashable {
    /// `FFTW_ESTIMATE`: a heuristic plan in microseconds; never touches the arrays.
    case estimate
    /// `FFTW_MEASURE`: times candidate algorithms (tens of milliseconds to seconds per size).
    /// Use with `FFTWisdom.load`/`save` so only the first run of a deployment pays for it.
    case measure

    var flags: UInt32 {
        switch self {
        case .estimate: return FFTW_ESTIMATE
        case .measure: return FFTW_MEASURE
        }
    }
}

/// A shared, immutable FFTW plan (`fftw_plan`) for one transform kind and size.
///
/// Plans are created once per (kind, size) by a process-wide cache and never destroyed, so an
/// `FFTPlan` value can be copied freely and used from any thread.
///
/// Threading: FFTW's planner is not thread-safe, so every `fftw_plan_*` call (and wisdom import,
/// export and buffer allocation) happens behind one `Synchronization.Mutex`. Executing a plan
/// with `fftw_execute_dft_r2c` / `_c2r` / `fftw_execute_dft` on *new arrays* is thread-safe and
/// is the only way these plans are executed, so any number of threads may run the same plan at
/// once, each on its own buffers.
///
/// New-array rules (FFTW manual §4.6): the arrays must be out-of-place (input and output do not
/// overlap), and aligned like the planning arrays. Buffers from `FFTBuffer` (`fftw_alloc_*`)
/// satisfy this; the plans are made without `FFTW_UNALIGNED`, so other memory must not be used.
public struct FFTPlan: @unchecked Sendable, Hashable {
    /// The transform a plan computes.
    public enum Kind: Sendable, Hashable {
        /// Real input of `count` values → `count / 2 + 1` complex bins (`fftw_plan_dft_r2c_1d`).
        case realToComplex
        /// `count / 2 + 1` Hermitian bins → `count` real values, unnormalised (×count)
        /// (`fftw_plan_dft_c2r_1d`). **Destroys its input** (FFTW's default for c2r).
        case complexToReal
        /// Complex → complex, `FFTW_FORWARD` (e^{−2πi jk/n}) (`fftw_plan_dft_1d`).
        case complexForward
        /// Complex → complex, `FFTW_BACKWARD` (e^{+2πi jk/n}), unnormalised (×count).
        case complexBackward
    }

    /// What the plan computes.
    public let kind: Kind
    /// Transform length n (real values for the real kinds, complex values for the complex ones).
    public let count: Int
    /// The FFTW plan; valid for the life of the process.
    let raw: OpaquePointer

    /// Values in the real array of a real plan, or in each array of a complex plan.
    public var realCount: Int { count }
    /// Complex values in the spectrum array: `count / 2 + 1` for real plans, `count` otherwise.
    public var complexCount: Int {
        switch kind {
        case .realToComplex, .complexToReal: return count / 2 + 1
        case .complexForward, .complexBackward: return count
        }
    }

    /// The shared plan of `kind` and `count` (≥ 1), created on first use.
    ///
    /// When a `.measure` plan of the same kind and size exists it is returned for `.estimate`
    /// requests too. Planning takes the planner lock; looking up an existing plan takes it briefly.
    /// Call this at setup, never on the hot path.
    public static func shared(_ kind: Kind, count: Int, rigor: FFTRigor = .estimate) -> FFTPlan {
        precondition(count >= 1, "an FFT needs at least one point")
        precondition(count <= Int(Int32.max), "FFT size beyond FFTW's int range")
        return FFTPlanner.plan(kind, count: count, rigor: rigor)
    }

    public static func == (a: FFTPlan, b: FFTPlan) -> Bool { a.raw == b.raw }
    public func hash(into h: inout Hasher) { h.combine(raw) }

    /// Runs a `.realToComplex` plan: `count` reals at `real` → `count / 2 + 1` bins at `spectrum`
    /// (`fftw_execute_dft_r2c`). Thread-safe; `real` is preserved.
    @inline(__always)
    public func execute(real: UnsafeMutablePointer<Double>, spectrum: UnsafeMutablePointer<(Double, Double)>) {
        precondition(kind == .realToComplex)
        fftw_execute_dft_r2c(raw, real, spectrum)
    }

    /// Runs a `.complexToReal` plan: `count / 2 + 1` Hermitian bins at `spectrum` → `count` reals
    /// at `real`, multiplied by `count` (`fftw_execute_dft_c2r`). Thread-safe; overwrites `spectrum`.
    @inline(__always)
    public func execute(spectrum: UnsafeMutablePointer<(Double, Double)>, real: UnsafeMutablePointer<Double>) {
        precondition(kind == .complexToReal)
        fftw_execute_dft_c2r(raw, spectrum, real)
    }

    /// Runs a complex plan: `count` values at `input` → `count` values at `output`
    /// (`fftw_execute_dft`). Thread-safe; `input` is preserved (out-of-place).
    @inline(__always)
    public func execute(input: UnsafeMutablePointer<(Double, Double)>, output: UnsafeMutablePointer<(Double, Double)>) {
        precondition(kind == .complexForward || kind == .complexBackward)
        fftw_execute_dft(raw, input, output)
    }
}

/// The process-wide plan cache and the lock that serializes every non-execute FFTW call.
enum FFTPlanner {
    private struct Key: Hashable {
        var kind: FFTPlan.Kind
        var count: Int
        var rigor: FFTRigor
    }

    /// Guards FFTW's global planner state (plans, wisdom, allocation) and the cache itself.
    private static let state = Mutex<[Key: FFTPlan]>([:])

    /// Runs `body` while holding the planner lock. Keep `body` short and never call back into
    /// `FFTPlanner` from it (the mutex is not recursive).
    static func serialized<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try state.withLock { (_) throws(E) -> R in
            ThreadSanitizer.acquire()
            defer { ThreadSanitizer.release() }
            return try body()
        }
    }

    static func plan(_ kind: FFTPlan.Kind, count: Int, rigor: FFTRigor) -> FFTPlan {
        state.withLock { cache in
            ThreadSanitizer.acquire()
            defer { ThreadSanitizer.release() }
            if let p = cache[Key(kind: kind, count: count, rigor: .measure)] { return p }
            let key = Key(kind: kind, count: count, rigor: rigor)
            if let p = cache[key] { return p }
            let p = make(kind, count: count, flags: rigor.flags)
            cache[key] = p
            return p
        }
    }

    /// Creates a plan on temporary `fftw_alloc` arrays (so `FFTW_MEASURE` may scribble on them).
    /// The caller holds the lock.
    private static func make(_ kind: FFTPlan.Kind, count n: Int, flags: UInt32) -> FFTPlan {
        let half = n / 2 + 1
        let raw: OpaquePointer?
        switch kind {
        case .realToComplex, .complexToReal:
            let r = fftw_alloc_real(n)!
            let c = fftw_alloc_complex(half)!
            defer { fftw_free(r); fftw_free(c) }
            raw = kind == .realToComplex
                ? fftw_plan_dft_r2c_1d(Int32(n), r, c, flags)
                : fftw_plan_dft_c2r_1d(Int32(n), c, r, flags)
        case .complexForward, .complexBackward:
            let a = fftw_alloc_complex(n)!
            let b = fftw_alloc_complex(n)!
            defer { fftw_free(a); fftw_free(b) }
            raw = fftw_plan_dft_1d(Int32(n), a, b, kind == .complexForward ? FFTW_FORWARD : FFTW_BACKWARD, flags)
        }
        guard let raw else { fatalError("FFTW could not plan a \(kind) transform of size \(n)") }
        return FFTPlan(kind: kind, count: n, raw: raw)
    }
}

/// Tells Thread Sanitizer, when the process runs under it, that the planner lock orders the
/// critical sections it guards.
///
/// `Synchronization.Mutex` on Linux hands a contended lock over through the kernel
/// (`FUTEX_LOCK_PI` / `FUTEX_UNLOCK_PI`), which TSan cannot observe, so without these annotations
/// `swift test --sanitize=thread` reports the cache accesses inside `withLock` as races. The
/// `__tsan_acquire` / `__tsan_release` hooks are looked up once with `dlsym` and are nil (no-ops)
/// in ordinary builds. Only the planner path (setup, never the hot path) calls them.
enum ThreadSanitizer {
    private typealias Hook = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private struct Hooks: @unchecked Sendable {
        var acquire: Hook?
        var release: Hook?
        /// The address TSan's happens-before edges hang on (never read or written).
        var token = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    }

    private static let hooks: Hooks = {
        let process = dlopen(nil, RTLD_NOW)
        func find(_ name: String) -> Hook? {
            dlsym(process, name).map { unsafeBitCast($0, to: Hook.self) }
        }
        return Hooks(acquire: find("__tsan_acquire"), release: find("__tsan_release"))
    }()

    static func acquire() { hooks.acquire?(hooks.token) }
    static func release() { hooks.release?(hooks.token) }
}
