// SPDX-License-Identifier: GPL-3.0-or-later
import Dispatch

/// Where streaming isolation forests are (re)trained off the hot path: a Dispatch queue shared by
/// every sensor's `StreamingIsolationForest` that runs in background mode.
///
/// Each detector owns a training slot with a preallocated buffer and a Dispatch user-data source
/// targeting this queue; asking for a training run copies the detector's window into that buffer
/// and signals the source (an atomic add and, at most, a wake-up: no allocation, no lock). Requests
/// from one detector coalesce, and a detector never has more than one run queued or running.
///
/// The default, `shared`, is one serial queue of quality of service `.utility`, so training never
/// takes more than one core from the workers; a concurrent trainer trains several sensors at once.
///
/// Threading: thread-safe; share one trainer among all workers.
public final class IsolationForestTrainer: Sendable {
    /// The trainer `vigild` uses: one serial utility queue for all sensors.
    public static let shared = IsolationForestTrainer(label: "vigil.isolation-forest.trainer")

    /// The queue the training runs execute on.
    let queue: DispatchQueue

    /// A trainer on a new queue labelled `label`; `concurrent` lets runs of different sensors overlap.
    public init(label: String, concurrent: Bool = false) {
        queue = DispatchQueue(label: label, qos: .utility, attributes: concurrent ? [.concurrent] : [])
    }

    /// Blocks until the runs already queued have finished. For shutdown and tools; never call it
    /// from a worker's hot path.
    public func waitUntilIdle() {
        queue.sync(flags: .barrier) {}
    }
}
