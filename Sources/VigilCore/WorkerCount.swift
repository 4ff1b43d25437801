// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many detector worker threads `pipeline.workers: auto` runs: the one rule, used by the
/// configuration and by a pipeline built in process without a count.
///
/// One fewer than the active processors (a core for ingest, libzmq's I/O thread and the
/// publisher), but two on a machine of two or three processors and one on a machine of one. A
/// worker running the shipped detector chain costs about ten times what ingest costs per sample,
/// so on a small machine a core left to ingest would idle most of the time: on 2 cores two
/// workers take 1.4–1.6 × the binary stream one worker takes (`Benchmarks/RESULTS.md`).
public enum WorkerCount {
    /// The `auto` worker count on a machine with `activeProcessors` processors.
    public static func automatic(activeProcessors: Int = onlineProcessors) -> Int {
        activeProcessors <= 1 ? 1 : max(2, activeProcessors - 1)
    }

    /// The processors online now (`sysconf(_SC_NPROCESSORS_ONLN)`), at least one.
    public static var onlineProcessors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
