// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import VigilCore
import VigilDetectors
import VigilJournal
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// What the restored checkpoint says about the journal.
struct RestoredCheckpoint {
    /// Every alert up to this `seq` is reflected in the restored state.
    var coveredSeq: UInt64
    /// The journal's `seq` when the checkpoint was committed.
    var journalSeq: UInt64
}

extension Daemon {
    /// Restores `detectors.snapshot` into the pipeline before it starts, if present, reading it
    /// section by section. A file that cannot be read or restored (corrupt, truncated, another
    /// version) is logged as a warning and renamed to `detectors.snapshot.bad`, and the daemon
    /// starts fresh: it never refuses to start for that. Called from `start()` on the starting
    /// thread, before any pipeline thread exists. Returns what the checkpoint covers, nil when
    /// there was none (or it was bad: then the whole journal is reconciled).
    func restoreDetectorState() -> RestoredCheckpoint? {
        let path = snapshotPath
        guard access(path, F_OK) == 0 else { return nil }
        let started = SystemTime.monotonicNanoseconds()
        do {
            let source = try SnapshotFileSource(path: path)
            var reader = try DetectorSnapshotReader(source)
            let summary = try pipeline.restore(from: &reader)
            let ms = (SystemTime.monotonicNanoseconds() - started) / 1_000_000
            logger.info("restored detector state", metadata: [
                "sensors": "\(summary.sensorsRestored)",
                "sensors_settings_changed": "\(summary.sensorsSkipped)",
                "assets": "\(summary.assetsRestored)",
                "assets_changed": "\(summary.assetsSkipped)",
                "version": "\(reader.version)",
                "covered_seq": "\(reader.coveredSeq)",
                "journal_seq": "\(reader.journalSeq)",
                "age_s": "\(reader.createdAt > 0 ? String((SystemTime.wallNanoseconds() - reader.createdAt) / 1_000_000_000) : "unknown")",
                "bytes": "\(reader.size)",
                "ms": "\(ms)",
                "path": "\(path)",
            ])
            return RestoredCheckpoint(coveredSeq: reader.coveredSeq, journalSeq: reader.journalSeq)
        } catch {
            let aside = path + ".bad"
            let moved = rename(path, aside) == 0
            logger.warning("cannot restore detector state: \(error); \(moved ? "moved it to \(aside)" : "could not move it aside"); starting fresh (open alerts are taken over from the journal)")
            return nil
        }
    }

    /// Reconciles the restored detector state with the journal (the rule is in ARCHITECTURE.md,
    /// "State across restarts", and `AlertStateMachine.reconcile(with:)`): the last event of each
    /// alert state machine journaled after `coveredSeq` is applied to it, so no id is cleared
    /// twice, no raised alert is left without a way to clear, and an alert cleared in the journal
    /// stays cleared. Raised alerts no detector can take over are closed by the publisher first
    /// thing. A journal that cannot be read is logged and the restored state kept as it is.
    func reconcileWithJournal(after coveredSeq: UInt64) {
        let started = SystemTime.monotonicNanoseconds()
        var latest: [String: JournaledAlert] = [:]
        var rows = 0
        var unreadable = 0
        do throws(JournalError) {
            let journal = try Journal(path: options.journalPath, access: .readOnly)
            var after = coveredSeq
            while true {
                let page = try journal.page(afterSeq: after, limit: 10_000)
                for row in page.rows {
                    rows += 1
                    guard let alert = JournaledAlert(json: row.json.utf8) else {
                        unreadable += 1
                        continue
                    }
                    latest[alert.sensor + "\u{0}" + alert.detector.rawValue] = alert
                }
                guard let last = page.rows.last else { break }
                after = last.seq
            }
        } catch {
            logger.error("cannot read the journal to reconcile the detector state with it: \(error); the restored state is kept as it is")
            return
        }
        if unreadable > 0 {
            logger.warning("\(unreadable) of \(rows) journal rows after seq \(coveredSeq) are not alerts this build can read; they are left out of the reconcile")
        }
        applyReconcile(latest, source: "the journal", after: coveredSeq, rows: rows, started: started)
    }

    /// Applies the last event of each alert state machine (`latest`, keyed by sensor and
    /// detector, `seq` giving their order) to the restored state, and queues the clears no
    /// detector can take over for the publisher (see `reconcileWithJournal`).
    func applyReconcile(_ latest: [String: JournaledAlert], source: String, after: UInt64, rows: Int, started: UInt64) {
        guard !latest.isEmpty else { return }
        let summary = pipeline.reconcile(with: latest.values.sorted { $0.seq < $1.seq })
        publisher.preload(summary.closed)
        logger.info("reconciled detector state with \(source)", metadata: [
            "after_seq": "\(after)", "rows": "\(rows)", "alert_states": "\(latest.count)",
            "taken_over": "\(summary.adopted)", "marked_cleared": "\(summary.cleared)",
            "kept_newer": "\(summary.keptNewer)", "fresh_chains": "\(summary.freshChains)",
            "closed": "\(summary.closed.count)", "ms": "\((SystemTime.monotonicNanoseconds() - started) / 1_000_000)",
        ])
    }
}
