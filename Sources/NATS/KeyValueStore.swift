// SPDX-License-Identifier: GPL-3.0-or-later
import CNATS

/// A JetStream key-value bucket (`kvStore`). Thread-safe like its connection.
public final class KeyValueStore: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { kvStore_Destroy(handle) }

    /// A key's value and revision.
    public struct Entry: Sendable, Equatable {
        public var value: [UInt8]
        public var revision: UInt64
    }

    /// The value of `key`, nil when absent, deleted or expired (`kvStore_Get`).
    public func get(_ key: String) throws(NATSError) -> Entry? {
        var e: OpaquePointer?
        let s = kvStore_Get(&e, handle, key)
        if s == NATS_NOT_FOUND { return nil }
        if s != NATS_OK { throw NATSError.last("kvStore_Get \(key)", s) }
        defer { kvEntry_Destroy(e) }
        let n = Int(kvEntry_ValueLen(e))
        let bytes = n == 0 ? [] : Array(UnsafeRawBufferPointer(start: kvEntry_Value(e), count: n))
        return Entry(value: bytes, revision: kvEntry_Revision(e))
    }

    /// Writes `value` under `key` whatever was there (`kvStore_Put`); returns the new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64 {
        var rev: UInt64 = 0
        try natsCall("kvStore_Put \(key)") { withBytes(value) { kvStore_Put(&rev, handle, key, $0, $1) } }
        return rev
    }

    /// Writes `value` under `key` only if the key is absent (never written, deleted or expired)
    /// (`kvStore_Create`); nil when it exists.
    public func create(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64? {
        var rev: UInt64 = 0
        do throws(NATSError) {
            try natsCall("kvStore_Create \(key)") { withBytes(value) { kvStore_Create(&rev, handle, key, $0, $1) } }
        } catch where error.isWrongLastSequence {
            return nil
        }
        return rev
    }

    /// Writes `value` under `key` only if its revision is still `revision` (`kvStore_Update`);
    /// nil when someone else wrote it since.
    public func update(_ key: String, _ value: [UInt8], revision: UInt64) throws(NATSError) -> UInt64? {
        var rev: UInt64 = 0
        do throws(NATSError) {
            try natsCall("kvStore_Update \(key)") { withBytes(value) { kvStore_Update(&rev, handle, key, $0, $1, revision) } }
        } catch where error.isWrongLastSequence {
            return nil
        }
        return rev
    }

    /// Deletes `key` (`kvStore_Delete`: a delete marker, so `create` succeeds afterwards).
    public func delete(_ key: String) throws(NATSError) {
        try natsCall("kvStore_Delete \(key)") { kvStore_Delete(handle, key) }
    }
}
