// SPDX-License-Identifier: GPL-3.0-or-later
import CSQLite
import VigilCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One alert to journal: its `seq`, sample timestamp, sensor and wire JSON.
public struct JournalEntry: Sendable, Equatable {
    /// The alert's daemon-wide sequence number (the row's key).
    public var seq: UInt64
    /// The alert's sample timestamp, nanoseconds since the epoch (`since` queries use it).
    public var ts: Int64
    /// The sensor (or asset) name.
    public var sensor: String
    /// The alert as published (`AlertRecord.json`).
    public var json: String

    /// An entry with these fields.
    public init(seq: UInt64, ts: Int64, sensor: String, json: String) {
        self.seq = seq
        self.ts = ts
        self.sensor = sensor
        self.json = json
    }

    /// The entry of `record`, with `json` its wire form (pass it when already encoded).
    public init(_ record: AlertRecord, json: String? = nil) {
        self.init(seq: record.seq, ts: record.ts, sensor: record.sensor, json: json ?? record.json)
    }
}

/// One answer to a history query: journaled alerts oldest first, and the journal's head.
public struct JournalPage: Sendable, Equatable {
    /// `(seq, json)` of each alert, by rising `seq`.
    public var rows: [(seq: UInt64, json: String)]
    /// The highest `seq` ever journaled when the page was read (never lowered by retention).
    public var headSeq: UInt64

    /// A page.
    public init(rows: [(seq: UInt64, json: String)], headSeq: UInt64) {
        self.rows = rows
        self.headSeq = headSeq
    }

    public static func == (a: JournalPage, b: JournalPage) -> Bool {
        a.headSeq == b.headSeq && a.rows.map(\.seq) == b.rows.map(\.seq) && a.rows.map(\.json) == b.rows.map(\.json)
    }
}

/// The alert journal: every published alert, by `seq`, in an SQLite file (WAL mode) in the state
/// directory. It gives `seq` its continuity across restarts and answers history queries; tools
/// can open it read-only while the daemon runs.
///
/// - A batch is written in one transaction (`append`): all of it or none of it. Any failure
///   (busy, disk full, I/O error, constraint) rolls the transaction back before the error is
///   thrown, so the connection is never left inside a transaction and the next try can succeed.
/// - The highest `seq` ever written is kept in a `journal_meta` row updated in the same
///   transaction, so `lastSeq()` never goes down, even when retention deletes every alert.
/// - The file, and the `-wal` and `-shm` files SQLite derives from it, are mode 0600.
///
/// Threading: a `Journal` is one SQLite connection opened with `SQLITE_OPEN_NOMUTEX`; use it
/// from one thread at a time (the publisher owns the writer; the history server and retention
/// each open their own). Any number of connections, threads and processes may share the file:
/// readers never block the writer, and writers wait for each other up to the busy timeout.
public final class Journal: @unchecked Sendable {
    /// How the file is opened.
    public enum Access: Sendable {
        /// Create the file if needed, migrate its schema, write alerts.
        case readWrite
        /// Read only (tools, the history server); the file must exist.
        case readOnly
    }

    /// The file's path.
    public let path: String
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    private var updateMeta: OpaquePointer?
    private var hasMeta = true

    /// Opens the journal at `path`. With `.readWrite` the file is created (mode 0600) if
    /// missing, an existing file and its `-wal`/`-shm` files are restricted to mode 0600, and the
    /// schema is created or migrated. `busyTimeoutMilliseconds` is how long one statement waits
    /// for another connection's write lock before failing with `SQLITE_BUSY`.
    public init(path: String, access: Access = .readWrite, busyTimeoutMilliseconds: Int32 = 1000) throws(JournalError) {
        self.path = path
        if access == .readWrite {
            try Self.createRestricted(path)
        }
        let flags = access == .readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            db = nil
            throw JournalError(.open, resultCode: rc, operation: "open \(path)", message: msg)
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        do throws(JournalError) {
            if access == .readWrite {
                try exec("PRAGMA journal_mode=WAL", .schema)
                try exec("PRAGMA synchronous=NORMAL", .schema)
                try migrate()
                for suffix in ["-wal", "-shm"] { try Self.restrict(path + suffix, mustExist: false) }
                insert = try prepare("INSERT INTO alerts(seq, ts, sensor, json, journaled_at) VALUES (?1, ?2, ?3, ?4, ?5)", .schema)
                updateMeta = try prepare("""
                    INSERT INTO journal_meta(key, value) VALUES ('last_seq', ?1)
                    ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)
                    """, .schema)
            } else {
                hasMeta = try tableExists("journal_meta")
            }
        } catch {
            closeConnection()
            throw error
        }
    }

    deinit { closeConnection() }

    private func closeConnection() {
        sqlite3_finalize(insert)
        sqlite3_finalize(updateMeta)
        insert = nil
        updateMeta = nil
        sqlite3_close(db)
        db = nil
    }

    // MARK: Schema

    /// Creates the tables, or adds what an older journal lacks, in one transaction.
    private func migrate() throws(JournalError) {
        try exec("BEGIN IMMEDIATE", .schema)
        do throws(JournalError) {
            try exec("""
                CREATE TABLE IF NOT EXISTS alerts (
                    seq INTEGER PRIMARY KEY,
                    ts INTEGER NOT NULL,
                    sensor TEXT NOT NULL,
                    json TEXT NOT NULL,
                    journaled_at INTEGER NOT NULL DEFAULT 0)
                """, .schema)
            if try !columnExists("alerts", "journaled_at") {
                // A journal from before retention: its alerts count as journaled now, so they are
                // kept one whole retention period.
                try exec("ALTER TABLE alerts ADD COLUMN journaled_at INTEGER NOT NULL DEFAULT 0", .schema)
                try exec("UPDATE alerts SET journaled_at = \(SystemTime.wallNanoseconds())", .schema)
            }
            try exec("CREATE INDEX IF NOT EXISTS alerts_ts ON alerts(ts)", .schema)
            try exec("CREATE INDEX IF NOT EXISTS alerts_journaled_at ON alerts(journaled_at)", .schema)
            try exec("CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)", .schema)
            try exec("INSERT OR IGNORE INTO journal_meta(key, value) SELECT 'last_seq', COALESCE(MAX(seq), 0) FROM alerts", .schema)
            try exec("COMMIT", .schema)
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    private func tableExists(_ name: String) throws(JournalError) -> Bool {
        let stmt = try prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", .read)
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_text(stmt, 1, name, -1, sqliteTransient)
        return sqlite3_step(stmt) == SQLITE_ROW
    }

    private func columnExists(_ table: String, _ column: String) throws(JournalError) -> Bool {
        let stmt = try prepare("SELECT name FROM pragma_table_info('\(table)')", .schema)
        defer { sqlite3_finalize(stmt) }
        while sqlite3_step(stmt) == SQLITE_ROW {
            if let text = sqlite3_column_text(stmt, 0), String(cString: text) == column { return true }
        }
        return false
    }

    // MARK: Writing

    /// Appends `entries` in one transaction, recording `journaledAt` (wall-clock nanoseconds; the
    /// age retention goes by) on each, and raises the kept highest `seq` to the largest entry's.
    /// On any failure nothing of the batch is kept: the transaction is rolled back, then the
    /// error (code `.write`) is thrown. Writer connection only.
    public func append(_ entries: [JournalEntry], journaledAt: Int64) throws(JournalError) {
        guard !entries.isEmpty else { return }
        precondition(insert != nil, "append on a read-only journal")
        do throws(JournalError) {
            try exec("BEGIN IMMEDIATE", .write)
            var highest: UInt64 = 0
            for e in entries {
                sqlite3_reset(insert)
                sqlite3_bind_int64(insert, 1, Int64(bitPattern: e.seq))
                sqlite3_bind_int64(insert, 2, e.ts)
                sqlite3_bind_text(insert, 3, e.sensor, -1, sqliteTransient)
                sqlite3_bind_text(insert, 4, e.json, -1, sqliteTransient)
                sqlite3_bind_int64(insert, 5, journaledAt)
                let rc = sqlite3_step(insert)
                guard rc == SQLITE_DONE else { throw error(.write, "insert seq \(e.seq)", rc) }
                highest = max(highest, e.seq)
            }
            sqlite3_reset(updateMeta)
            sqlite3_bind_int64(updateMeta, 1, Int64(bitPattern: highest))
            let rc = sqlite3_step(updateMeta)
            guard rc == SQLITE_DONE else { throw error(.write, "update last_seq", rc) }
            try exec("COMMIT", .write)
        } catch {
            sqlite3_reset(insert)
            sqlite3_reset(updateMeta)
            rollbackIfNeeded()
            throw error
        }
    }

    /// Deletes up to `limit` alerts journaled before `cutoff` (wall-clock nanoseconds), oldest
    /// first, in one short transaction; returns how many it deleted. The kept highest `seq` is
    /// untouched, so `seq` continues after every alert is deleted. Call repeatedly, with pauses,
    /// until it returns less than `limit`, so the writer is never held up for long.
    public func deleteJournaled(before cutoff: Int64, limit: Int) throws(JournalError) -> Int {
        let stmt = try prepare("""
            DELETE FROM alerts WHERE seq IN
                (SELECT seq FROM alerts WHERE journaled_at < ?1 ORDER BY journaled_at, seq LIMIT ?2)
            """, .delete)
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_int64(stmt, 1, cutoff)
        sqlite3_bind_int64(stmt, 2, Int64(limit))
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_DONE else {
            let e = error(.delete, "delete journaled before \(cutoff)", rc)
            sqlite3_reset(stmt)
            rollbackIfNeeded()
            throw e
        }
        return Int(sqlite3_changes(db))
    }

    // MARK: Reading

    /// The highest `seq` ever journaled (0 when nothing was): the next alert gets `lastSeq + 1`.
    public func lastSeq() throws(JournalError) -> UInt64 {
        let sql = hasMeta
            ? "SELECT max(COALESCE((SELECT value FROM journal_meta WHERE key = 'last_seq'), 0), COALESCE((SELECT MAX(seq) FROM alerts), 0))"
            : "SELECT COALESCE(MAX(seq), 0) FROM alerts"
        let stmt = try prepare(sql, .read)
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW else { throw error(.read, "last seq", rc) }
        return UInt64(bitPattern: sqlite3_column_int64(stmt, 0))
    }

    /// How many alerts the journal holds now.
    public func count() throws(JournalError) -> Int {
        let stmt = try prepare("SELECT COUNT(*) FROM alerts", .read)
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW else { throw error(.read, "count", rc) }
        return Int(sqlite3_column_int64(stmt, 0))
    }

    /// Alerts with `seq > afterSeq`, oldest first, at most `limit`, with the head read in the
    /// same read transaction (so every alert up to `headSeq` is either in `rows` or past `limit`).
    public func page(afterSeq: UInt64, limit: Int) throws(JournalError) -> JournalPage {
        try page("SELECT seq, json FROM alerts WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                 Int64(clamping: afterSeq), limit)
    }

    /// Alerts with `ts >= since` (sample time, nanoseconds), by rising `seq`, at most `limit`,
    /// with the head read in the same read transaction.
    public func page(sinceTimestamp since: Int64, limit: Int) throws(JournalError) -> JournalPage {
        try page("SELECT seq, json FROM alerts WHERE ts >= ?1 ORDER BY seq LIMIT ?2", since, limit)
    }

    private func page(_ sql: String, _ a: Int64, _ limit: Int) throws(JournalError) -> JournalPage {
        try exec("BEGIN", .read)
        do throws(JournalError) {
            let head = try lastSeq()
            let stmt = try prepare(sql, .read)
            defer { sqlite3_finalize(stmt) }
            sqlite3_bind_int64(stmt, 1, a)
            sqlite3_bind_int64(stmt, 2, Int64(max(0, limit)))
            var rows: [(UInt64, String)] = []
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw error(.read, "select alerts", rc) }
                let json = sqlite3_column_text(stmt, 1).map { String(cString: $0) } ?? "null"
                rows.append((UInt64(bitPattern: sqlite3_column_int64(stmt, 0)), json))
            }
            try exec("COMMIT", .read)
            return JournalPage(rows: rows, headSeq: head)
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    // MARK: SQLite helpers

    private func error(_ code: JournalError.Code, _ operation: String, _ rc: Int32) -> JournalError {
        JournalError(code, resultCode: rc, operation: operation,
                     message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "no connection")
    }

    private func exec(_ sql: String, _ code: JournalError.Code) throws(JournalError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(code, sql, rc) }
    }

    private func prepare(_ sql: String, _ code: JournalError.Code) throws(JournalError) -> OpaquePointer? {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK else { throw error(code, "prepare \(sql)", rc) }
        return stmt
    }

    /// Ends a transaction SQLite left open after a failed statement (it may or may not have rolled
    /// back by itself, depending on the error).
    private func rollbackIfNeeded() {
        if let db, sqlite3_get_autocommit(db) == 0 {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
        }
    }

    // MARK: File modes

    /// Creates `path` with mode 0600 when missing; restricts an existing file to 0600.
    private static func createRestricted(_ path: String) throws(JournalError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw JournalError(.open, resultCode: errno, operation: "create \(path)", message: String(cString: strerror(errno)))
        }
        close(fd)
        try restrict(path, mustExist: true)
    }

    /// Removes every group and other permission bit of `path` (an older journal was 0644).
    private static func restrict(_ path: String, mustExist: Bool) throws(JournalError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if !mustExist && errno == ENOENT { return }
            throw JournalError(.permissions, resultCode: errno, operation: "stat \(path)", message: String(cString: strerror(errno)))
        }
        guard st.st_mode & 0o077 != 0 else { return }
        guard chmod(path, 0o600) == 0 else {
            throw JournalError(.permissions, resultCode: errno, operation: "chmod 0600 \(path)", message: String(cString: strerror(errno)))
        }
    }
}

/// SQLite's SQLITE_TRANSIENT: copy bound text before returning.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
