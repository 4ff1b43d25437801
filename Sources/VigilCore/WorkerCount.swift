// SPDX-License-Identifier: GPL-3.0-or-later

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
    public static func automatic(activeProcessors: Int) -> Int {
        activeProcessors <= 1 ? 1 : max(2, activeProcessors - 1)
    }
}
