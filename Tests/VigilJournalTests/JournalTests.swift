// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilJournal
import VigilTestKit

/// The journal on real SQLite files; Python's sqlite3 module plays the other process (a tool
/// holding the write lock, a journal written by an older version).
@Suite("Journal (SQLite)")
struct JournalTests {
    static func entries(_ seqs: ClosedRange<UInt64>, ts: Int64 = 1_700_000_000_000_000_000) -> [JournalEntry] {
        seqs.map { JournalEntry(seq: $0, ts: ts + Int64($0), sensor: "s\($0 % 3)", json: "{\"seq\":\($0)}") }
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    @Test("appended batches page back by seq and by time, with the head read alongside")
    func appendAndPage() throws {
        let path = TestNetwork.temporaryDirectory("journal") + "/journal.sqlite"
        let journal = try Journal(path: path)
        #expect(try journal.lastSeq() == 0)
        try journal.append(Self.entries(1...3), journaledAt: Self.now)
        try journal.append(Self.entries(4...5), journaledAt: Self.now)
        #expect(try journal.lastSeq() == 5)
        let page = try journal.page(afterSeq: 2, limit: 2)
        #expect(page.rows.map(\.seq) == [3, 4])
        #expect(page.rows.map(\.json) == ["{\"seq\":3}", "{\"seq\":4}"])
        #expect(page.headSeq == 5)
        #expect(try journal.page(sinceTimestamp: 1_700_000_000_000_000_004, limit: 10).rows.map(\.seq) == [4, 5])
        #expect(try journal.page(afterSeq: 5, limit: 10).rows.isEmpty)
        // A tool reads it read-only while the writer is open.
        let reader = try Journal(path: path, access: .readOnly)
        #expect(try reader.count() == 5)
        #expect(try reader.lastSeq() == 5)
        #expect(throws: JournalError.self) { try Journal(path: path + ".missing", access: .readOnly) }
    }

    @Test("a batch that fails half-way keeps none of its rows, and the next batch is written")
    func failedBatchIsRolledBack() throws {
        let path = TestNetwork.temporaryDirectory("journal") + "/journal.sqlite"
        let writer = try Journal(path: path)
        try writer.append(Self.entries(1...3), journaledAt: Self.now)
        // Another writer (a second daemon on the same state directory) took seq 5.
        let other = try Journal(path: path)
        try other.append(Self.entries(5...5), journaledAt: Self.now)
        let error = #expect(throws: JournalError.self) { try writer.append(Self.entries(4...6), journaledAt: Self.now) }
        #expect(error?.code == .write)
        #expect(error?.description.contains("seq 5") == true, "\(String(describing: error))")
        #expect(try writer.page(afterSeq: 0, limit: 10).rows.map(\.seq) == [1, 2, 3, 5], "seq 4, inserted before the failure, was rolled back")
        // Not left inside a transaction: the next batch commits and other connections see it.
        try writer.append(Self.entries(6...7), journaledAt: Self.now)
        #expect(try other.page(afterSeq: 0, limit: 10).rows.map(\.seq) == [1, 2, 3, 5, 6, 7])
        #expect(try other.lastSeq() == 7)
    }

    @Test("while another process holds the write lock a batch fails cleanly; once released the same batch is written")
    func busyWriter() throws {
        let path = TestNetwork.temporaryDirectory("journal") + "/journal.sqlite"
        let writer = try Journal(path: path, busyTimeoutMilliseconds: 100)
        try writer.append(Self.entries(1...2), journaledAt: Self.now)
        let holder = try SQLiteLockHolder(path: path)
        let error = #expect(throws: JournalError.self) { try writer.append(Self.entries(3...4), journaledAt: Self.now) }
        #expect(error?.code == .write)
        #expect(error.map { $0.resultCode & 0xFF } == 5, "SQLITE_BUSY: \(String(describing: error))")
        #expect(error?.description.contains("locked") == true, "\(String(describing: error))")
        // Still failing, still clean (no transaction left open that would swallow later batches).
        #expect(throws: JournalError.self) { try writer.append(Self.entries(3...4), journaledAt: Self.now) }
        try holder.release()
        try writer.append(Self.entries(3...4), journaledAt: Self.now)
        #expect(try Journal(path: path, access: .readOnly).page(afterSeq: 0, limit: 10).rows.map(\.seq) == [1, 2, 3, 4])
    }

    @Test("retention deletes old alerts in batches, and seq continues even when every alert is gone")
    func retention() throws {
        let path = TestNetwork.temporaryDirectory("journal") + "/journal.sqlite"
        let journal = try Journal(path: path)
        let hourAgo = Self.now - 3_600_000_000_000
        try journal.append(Self.entries(1...5), journaledAt: hourAgo)
        try journal.append(Self.entries(6...7), journaledAt: Self.now)
        let cutoff = Self.now - 60_000_000_000
        #expect(try journal.deleteJournaled(before: cutoff, limit: 2) == 2)
        #expect(try journal.deleteJournaled(before: cutoff, limit: 2) == 2)
        #expect(try journal.deleteJournaled(before: cutoff, limit: 2) == 1)
        #expect(try journal.deleteJournaled(before: cutoff, limit: 2) == 0)
        #expect(try journal.page(afterSeq: 0, limit: 10).rows.map(\.seq) == [6, 7])
        // Everything deleted: the highest seq is kept, also across a reopen.
        #expect(try journal.deleteJournaled(before: Self.now + 1_000_000_000, limit: 100) == 2)
        #expect(try journal.count() == 0)
        #expect(try journal.lastSeq() == 7)
        let reopened = try Journal(path: path)
        #expect(try reopened.lastSeq() == 7)
        #expect(try reopened.page(afterSeq: 0, limit: 10) == JournalPage(rows: [], headSeq: 7))
        try reopened.append(Self.entries(8...8), journaledAt: Self.now)
        #expect(try reopened.lastSeq() == 8)
    }

    @Test("the journal and its -wal and -shm files are mode 0600; an older 0644 journal is narrowed")
    func fileModes() throws {
        let directory = TestNetwork.temporaryDirectory("journal")
        let path = directory + "/journal.sqlite"
        let umask = Glibc.umask(0)  // the widest process umask cannot widen the journal
        defer { _ = Glibc.umask(umask) }
        let journal = try Journal(path: path)
        try journal.append(Self.entries(1...1), journaledAt: Self.now)
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
            #expect(Self.mode(file) == 0o600, "\(file): \(String(Self.mode(file) ?? 0, radix: 8))")
        }
        let older = directory + "/older.sqlite"
        try Self.python("""
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL')
            c.execute('CREATE TABLE t(x)'); c.commit()
            """, older)
        chmod(older, 0o644)
        _ = try Journal(path: older)
        #expect(Self.mode(older) == 0o600)
    }

    @Test("a journal from before retention is migrated: its alerts, seq and a full retention period are kept")
    func migration() throws {
        let path = TestNetwork.temporaryDirectory("journal") + "/journal.sqlite"
        try Self.python("""
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.execute('CREATE TABLE alerts (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, sensor TEXT NOT NULL, json TEXT NOT NULL)')
            c.executemany('INSERT INTO alerts VALUES (?, ?, ?, ?)', [(i, i, 's', '{"seq":%d}' % i) for i in (1, 2, 3)])
            c.commit()
            """, path)
        // A tool opening it read-only before the daemon migrated it still reads it.
        #expect(try Journal(path: path, access: .readOnly).lastSeq() == 3)
        let journal = try Journal(path: path)
        #expect(try journal.lastSeq() == 3)
        #expect(try journal.deleteJournaled(before: Self.now - 1_000_000_000, limit: 10) == 0, "migrated alerts count as journaled now")
        try journal.append(Self.entries(4...4), journaledAt: Self.now)
        #expect(try journal.page(afterSeq: 0, limit: 10).rows.map(\.seq) == [1, 2, 3, 4])
    }

    /// Runs a Python program with `argument` as `sys.argv[1]`.
    static func python(_ program: String, _ argument: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", program, argument]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "python3 failed")
    }
}

/// Another process (Python's sqlite3) holding the journal's write lock until released.
final class SQLiteLockHolder {
    private let process = Process()
    private let input = Pipe()

    init(path: String) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN IMMEDIATE')
            print('locked', flush=True)
            sys.stdin.readline()
            c.execute('ROLLBACK')
            """, path]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.readData(ofLength: 7), as: UTF8.self)
        guard line.hasPrefix("locked") else { throw CocoaError(.fileLocking) }
    }

    func release() throws {
        input.fileHandleForWriting.write(Data("\n".utf8))
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }
}
