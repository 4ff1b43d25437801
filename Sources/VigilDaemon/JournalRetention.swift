// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilJournal
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// `state.journal_retention`: deletes alerts journaled longer ago than the retention, off the
/// publish path, on a thread of its own with its own journal connection. A pass runs at start
/// and then every `journalRetentionInterval`; it deletes in batches of `batchSize` rows, each its
/// own short transaction with a pause after it, so the publisher never waits long for the write
/// lock. The journal keeps the highest `seq` apart from the rows, so `seq` continues even when
/// every alert is deleted. Failures are logged and counted in `vigil_journal_errors_total`; the
/// next pass tries again.
///
/// Threading: `open` and `start` on the starting thread; then the connection belongs to the
/// retention thread. `requestStop` from any thread: the thread notices within 100 ms.
final class JournalRetention: Stage, @unchecked Sendable {
    let name = "retention"
    private let heartbeat = Heartbeat(name: "vigil-retention")
    var heartbeats: [Heartbeat] { [heartbeat] }
    private let options: DaemonOptions
    private let metrics: DaemonMetrics
    private let logger: Logger
    private var journal: Journal?
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)
    /// Rows per delete transaction.
    let batchSize = 1000

    init(options: DaemonOptions, metrics: DaemonMetrics, logger: Logger) {
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    /// Opens the retention's own connection (after the publisher created the journal).
    func open() throws {
        journal = try Journal(path: options.journalPath, access: .readWrite)
    }

    func start() {
        thread = StageThread(name: "vigil-retention") { [self] in self.run() }
    }

    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
        journal = nil
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        guard let journal else { return }
        let interval = nanoseconds(options.journalRetentionInterval)
        var next = SystemTime.monotonicNanoseconds()
        while !isStopping {
            heartbeat.beat()
            let now = SystemTime.monotonicNanoseconds()
            if now >= next {
                pass(journal)
                next = SystemTime.monotonicNanoseconds() + UInt64(max(interval, 1_000_000))
            }
            usleep(UInt32(min(100_000, max(1000, (next &- SystemTime.monotonicNanoseconds()) / 1000))))
        }
    }

    /// Deletes every alert journaled before now − retention, batch by batch.
    private func pass(_ journal: Journal) {
        let cutoff = SystemTime.wallNanoseconds() - nanoseconds(options.journalRetention)
        var deleted = 0
        do throws(JournalError) {
            while !isStopping {
                let n = try journal.deleteJournaled(before: cutoff, limit: batchSize)
                deleted += n
                metrics.journalDeleted.add(0, UInt64(n))
                if n < batchSize { break }
                heartbeat.beat()
                usleep(10_000)  // let the publisher in between batches
            }
        } catch {
            metrics.journalErrors.add(0, 1)
            logger.error("journal retention: \(error); trying again at the next pass")
        }
        if deleted > 0 {
            logger.info("journal retention deleted \(deleted) alerts journaled before \(Timestamp.rfc3339(cutoff))")
        }
    }

    private func nanoseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : s * 1_000_000_000 + atto / 1_000_000_000
    }
}
