// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two clocks Vigil reads, in nanoseconds: the one place that calls `clock_gettime`.
public enum SystemTime {
    /// `CLOCK_REALTIME`: nanoseconds since the Unix epoch (journal and sample timestamps).
    @inlinable @inline(__always)
    public static func wallNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// `CLOCK_MONOTONIC`: durations, deadlines and arrival stamps; the same clock in every
    /// process of the machine (Python's `time.monotonic_ns()`), so a sender's and a daemon's
    /// readings compare.
    @inlinable @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// `CLOCK_THREAD_CPUTIME_ID`: the calling thread's processor time (a pause measured without
    /// the time other processes of a shared machine took the core away).
    @inlinable @inline(__always)
    public static func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
