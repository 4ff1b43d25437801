// SPDX-License-Identifier: GPL-3.0-or-later
import CSQLite
import VigilCore

/// An error from SQLite: the failing call, its result code and `sqlite3_errmsg`.
public struct JournalError: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var message: String
    public var description: String { "journal: \(operation): \(message) (sqlite \(code))" }
}

/// The alert journal: every published alert, by `seq`, in an SQLite file in the state directory.
/// It gives `seq` its continuity across restarts and answers history queries.
///
/// Threading: one `Journal` (one SQLite connection) per thread. The publisher thread owns the
/// writer; the history server opens its own reader. The file is in WAL mode so readers never
/// block the writer.
public final class Journal: @unchecked Sendable {
    private var db: OpaquePointer?
    public let path: String
    private var insert: OpaquePointer?
    private var inTransaction = false

    /// Opens (creating if needed) the journal at `path`.
    public init(path: String, readOnly: Bool = false) throws(JournalError) {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw JournalError(operation: "open \(path)", code: rc, message: msg)
        }
        sqlite3_busy_timeout(db, 5000)
        if !readOnly {
            try exec("PRAGMA journal_mode=WAL")
            try exec("PRAGMA synchronous=NORMAL")
            try exec("""
                CREATE TABLE IF NOT EXISTS alerts (
                    seq INTEGER PRIMARY KEY,
                    ts INTEGER NOT NULL,
                    sensor TEXT NOT NULL,
                    json TEXT NOT NULL)
                """)
            try exec("CREATE INDEX IF NOT EXISTS alerts_ts ON alerts(ts)")
            insert = try prepare("INSERT INTO alerts(seq, ts, sensor, json) VALUES (?1, ?2, ?3, ?4)")
        }
    }

    deinit {
        if inTransaction { _ = try? exec("COMMIT") }
        sqlite3_finalize(insert)
        sqlite3_close(db)
    }

    private func error(_ op: String, _ rc: Int32) -> JournalError {
        JournalError(operation: op, code: rc, message: String(cString: sqlite3_errmsg(db)))
    }

    private func exec(_ sql: String) throws(JournalError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(sql, rc) }
    }

    private func prepare(_ sql: String) throws(JournalError) -> OpaquePointer? {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK else { throw error("prepare \(sql)", rc) }
        return stmt
    }

    /// The highest `seq` journaled (0 when empty): the next alert gets `lastSeq + 1`.
    public func lastSeq() throws(JournalError) -> UInt64 {
        let stmt = try prepare("SELECT COALESCE(MAX(seq), 0) FROM alerts")
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW else { throw error("max(seq)", sqlite3_errcode(db)) }
        return UInt64(sqlite3_column_int64(stmt, 0))
    }

    /// Appends one alert. Appends between `begin()` and `commit()` share one transaction.
    public func append(_ record: AlertRecord, json: String) throws(JournalError) {
        sqlite3_reset(insert)
        sqlite3_bind_int64(insert, 1, Int64(record.seq))
        sqlite3_bind_int64(insert, 2, record.ts)
        sqlite3_bind_text(insert, 3, record.sensor, -1, sqliteTransient)
        sqlite3_bind_text(insert, 4, json, -1, sqliteTransient)
        let rc = sqlite3_step(insert)
        guard rc == SQLITE_DONE else { throw error("insert seq \(record.seq)", rc) }
    }

    /// Starts a batch of appends.
    public func begin() throws(JournalError) {
        if !inTransaction { try exec("BEGIN"); inTransaction = true }
    }

    /// Makes a batch of appends durable.
    public func commit() throws(JournalError) {
        if inTransaction { try exec("COMMIT"); inTransaction = false }
    }

    /// Journaled alerts (their JSON) with `seq > afterSeq`, oldest first, at most `limit`.
    public func alerts(afterSeq: UInt64, limit: Int) throws(JournalError) -> [(seq: UInt64, json: String)] {
        try query("SELECT seq, json FROM alerts WHERE seq > ?1 ORDER BY seq LIMIT ?2", Int64(afterSeq), limit)
    }

    /// Journaled alerts with `ts >= since` (nanoseconds), oldest first by `seq`, at most `limit`.
    public func alerts(sinceTimestamp since: Int64, limit: Int) throws(JournalError) -> [(seq: UInt64, json: String)] {
        try query("SELECT seq, json FROM alerts WHERE ts >= ?1 ORDER BY seq LIMIT ?2", since, limit)
    }

    private func query(_ sql: String, _ a: Int64, _ limit: Int) throws(JournalError) -> [(seq: UInt64, json: String)] {
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_int64(stmt, 1, a)
        sqlite3_bind_int64(stmt, 2, Int64(limit))
        var out: [(UInt64, String)] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error("select", rc) }
            out.append((UInt64(sqlite3_column_int64(stmt, 0)), String(cString: sqlite3_column_text(stmt, 1))))
        }
        return out
    }
}

/// SQLite's SQLITE_TRANSIENT: copy bound text before returning.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
