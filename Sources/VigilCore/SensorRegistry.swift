// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization

/// Interns sensor ids (UTF-8 strings) to dense `UInt32` indices, once, at ingest; and recycles
/// the index of a sensor that was evicted, once nothing refers to it any more.
///
/// Threading: exactly one thread (the ingest thread, or the single thread of an offline run) is
/// the writer: it alone may call `intern`, `lookup`, `index(of:)`, `retire`, `release`,
/// `isLive` and `takeReused`. Any thread may call `name(of:)` for an index it has received
/// through a ring or another synchronising hand-off, and `count`/`liveCount` at any time: a name
/// is written before the index is published (with a releasing store of `count`, or before the
/// sample that carries a recycled index is pushed through a ring), and it does not change while
/// any other thread can still hold that index. Recycling keeps that promise by protocol: the
/// writer first `retire`s an index (its id is no longer found, so no new sample can carry it),
/// and calls `release` only once every thread that could read the old name has said it is done
/// with the index (`Pipeline` does this for the daemon: the owning worker and the publisher).
///
/// The lookup table hashes the raw bytes of the id, so interning an id seen before allocates
/// nothing.
public final class SensorRegistry: @unchecked Sendable {
    /// The most sensors this registry holds at once (live and retiring); `intern` returns nil
    /// beyond it.
    public let limit: Int
    /// The largest `limit` a registry accepts: indices at or above it are free for an ingest
    /// decoder's pending marks (`IngestDecoder`).
    public static let maximumLimit = 1 << 31 - 1
    private let names: UnsafeMutablePointer<String>
    private let published = Atomic<Int>(0)
    private let live = Atomic<Int>(0)

    // Writer-only state.
    private var table: [UInt64]          // (hash high 32 bits << 32) | (index + 1); 0 = empty
    private var tableMask: Int
    /// Key bytes of every index, in an arena that only grows between compactions: key i is
    /// `keyBytes[keyStart[i] ..< keyStart[i] + keyLength[i]]`.
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int] = []
    private var keyLength: [Int] = []
    /// Arena bytes that belong to no index any more (compacted when they dominate).
    private var garbageBytes = 0
    /// Whether index i is live (found by its id); false once retired.
    private var liveFlags: [Bool] = []
    /// Released indices, reused by `intern` before new ones.
    private var freeList: [UInt32] = []
    /// Indices reused since the last `takeReused()`.
    private var reused: [UInt32] = []

    public init(limit: Int = 100_000) {
        precondition(limit > 0 && limit <= Self.maximumLimit, "registry limit \(limit) is outside 1...\(Self.maximumLimit)")
        self.limit = limit
        names = .allocate(capacity: limit)
        var size = 64
        while size < 2 * min(limit, 1 << 16) { size <<= 1 }
        table = Array(repeating: 0, count: size)
        tableMask = size - 1
    }

    deinit {
        names.deinitialize(count: published.load(ordering: .acquiring))
        names.deallocate()
    }

    /// Number of indices handed out so far, live or not: every index is below it (any thread).
    public var count: Int { published.load(ordering: .acquiring) }

    /// Number of live sensors: interned and not retired (any thread; the `vigil_sensors` gauge).
    public var liveCount: Int { live.load(ordering: .relaxed) }

    /// The sensor id of an index previously returned by `intern` (see the threading contract).
    /// A released index that was not reused yet has the empty name.
    public func name(of index: UInt32) -> String {
        precondition(Int(index) < count, "unknown sensor index \(index)")
        return names[Int(index)]
    }

    /// All names, in index order, released indices as empty strings (any thread, when no
    /// writer runs: after the pipeline stopped, or before it started).
    public var allNames: [String] { (0..<count).map { names[$0] } }

    /// Whether `index` is live: interned and not retired. Writer thread only.
    public func isLive(_ index: UInt32) -> Bool {
        Int(index) < liveFlags.count && liveFlags[Int(index)]
    }

    /// Returns the index of `id`, interning it when new; nil when the id is new and the registry
    /// is full. Writer thread only.
    public func intern(_ id: UnsafeRawBufferPointer) -> UInt32? {
        let h = Self.hash(id)
        let tag = h >> 32
        var slot = Int(truncatingIfNeeded: h) & tableMask
        while true {
            let entry = table[slot]
            if entry == 0 { break }
            if entry >> 32 == tag {
                let index = Int(entry & 0xFFFF_FFFF) - 1
                if keyEquals(index, id) { return UInt32(index) }
            }
            slot = (slot + 1) & tableMask
        }
        let index: Int
        let fresh: Bool
        if let recycled = freeList.popLast() {
            index = Int(recycled)
            fresh = false
        } else {
            index = count
            guard index < limit else { return nil }
            fresh = true
        }
        if garbageBytes > 4096 && garbageBytes > keyBytes.count / 2 { compactKeys() }
        let start = keyBytes.count
        keyBytes.append(contentsOf: id)
        let name = String(decoding: id, as: UTF8.self)
        if fresh {
            keyStart.append(start)
            keyLength.append(id.count)
            liveFlags.append(true)
            (names + index).initialize(to: name)
        } else {
            keyStart[index] = start
            keyLength[index] = id.count
            liveFlags[index] = true
            names[index] = name
            reused.append(UInt32(index))
        }
        table[slot] = (tag << 32) | UInt64(index + 1)
        live.wrappingAdd(1, ordering: .relaxed)
        if fresh { published.store(index + 1, ordering: .releasing) }
        if 2 * live.load(ordering: .relaxed) > table.count { grow() }
        return UInt32(index)
    }

    /// Interns a Swift string. Writer thread only.
    public func intern(_ id: String) -> UInt32? {
        var id = id
        return id.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    /// The index of a live id, without interning it. Writer thread only; allocates nothing.
    @inline(__always)
    public func lookup(_ id: UnsafeRawBufferPointer) -> UInt32? {
        let h = Self.hash(id)
        let tag = h >> 32
        var slot = Int(truncatingIfNeeded: h) & tableMask
        while true {
            let entry = table[slot]
            if entry == 0 { return nil }
            if entry >> 32 == tag {
                let index = Int(entry & 0xFFFF_FFFF) - 1
                if keyEquals(index, id) { return UInt32(index) }
            }
            slot = (slot + 1) & tableMask
        }
    }

    /// Looks up a live id without interning it. Writer thread only.
    public func index(of id: String) -> UInt32? {
        var id = id
        return id.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }

    /// Takes a live sensor out of the lookup: its id is no longer found (a later sample naming it
    /// interns it afresh, under another index), and it no longer counts in `liveCount`. Its name
    /// stays readable and the index stays taken until `release`. Writer thread only.
    public func retire(_ index: UInt32) {
        let i = Int(index)
        precondition(isLive(index), "retire: sensor index \(index) is not live")
        let h = keyBytes.withUnsafeBytes { all in
            Self.hash(UnsafeRawBufferPointer(rebasing: all[keyStart[i]..<(keyStart[i] + keyLength[i])]))
        }
        let wanted = (h >> 32) << 32 | UInt64(i + 1)
        var slot = Int(truncatingIfNeeded: h) & tableMask
        while table[slot] != wanted {
            precondition(table[slot] != 0, "retire: sensor index \(index) is not in the table")
            slot = (slot + 1) & tableMask
        }
        removeEntry(at: slot)
        liveFlags[i] = false
        live.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Makes a retired index available to `intern` again and empties its name. Call only once no
    /// other thread can read the old name (see the threading contract). Writer thread only.
    public func release(_ index: UInt32) {
        let i = Int(index)
        precondition(i < liveFlags.count && !liveFlags[i], "release: sensor index \(index) is live or unknown")
        precondition(keyLength[i] >= 0, "release: sensor index \(index) was released already")
        names[i] = ""
        garbageBytes += keyLength[i]
        keyLength[i] = -1
        freeList.append(index)
    }

    /// Calls `body` with every index that `intern` reused (after a `release`) since the last
    /// call, so a caller that keeps per-index facts about the old sensor can reset them.
    /// Writer thread only.
    public func takeReused(_ body: (UInt32) -> Void) {
        guard !reused.isEmpty else { return }
        for i in reused { body(i) }
        reused.removeAll(keepingCapacity: true)
    }

    /// Whether `takeReused` has anything to report. Writer thread only.
    @inline(__always)
    public var hasReused: Bool { !reused.isEmpty }

    private func keyEquals(_ index: Int, _ id: UnsafeRawBufferPointer) -> Bool {
        let start = keyStart[index]
        let length = keyLength[index]
        guard length == id.count else { return false }
        return keyBytes.withUnsafeBytes { all in
            length == 0 || memcmpBytes(all.baseAddress! + start, id.baseAddress!, length)
        }
    }

    /// Linear-probing deletion by backward shift: entries of the cluster after `slot` that may
    /// live earlier move up, so every entry stays reachable from its home slot without tombstones.
    private func removeEntry(at slot: Int) {
        var hole = slot
        table[hole] = 0
        var j = hole
        while true {
            j = (j + 1) & tableMask
            let entry = table[j]
            if entry == 0 { return }
            let k = Int(entry & 0xFFFF_FFFF) - 1
            let home = keyBytes.withUnsafeBytes { all in
                Int(truncatingIfNeeded: Self.hash(UnsafeRawBufferPointer(rebasing: all[keyStart[k]..<(keyStart[k] + keyLength[k])]))) & tableMask
            }
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                table[hole] = entry
                table[j] = 0
                hole = j
            }
        }
    }

    /// Rewrites the key arena with only the keys of indices in use.
    private func compactKeys() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keyBytes.count - garbageBytes)
        for i in keyStart.indices where keyLength[i] >= 0 {
            let start = bytes.count
            bytes.append(contentsOf: keyBytes[keyStart[i]..<(keyStart[i] + keyLength[i])])
            keyStart[i] = start
        }
        keyBytes = bytes
        garbageBytes = 0
    }

    private func grow() {
        let size = table.count * 2
        var newTable = Array(repeating: UInt64(0), count: size)
        let mask = size - 1
        for entry in table where entry != 0 {
            let index = Int(entry & 0xFFFF_FFFF) - 1
            let h = keyBytes.withUnsafeBytes { all in
                Self.hash(UnsafeRawBufferPointer(rebasing: all[keyStart[index]..<(keyStart[index] + keyLength[index])]))
            }
            var slot = Int(truncatingIfNeeded: h) & mask
            while newTable[slot] != 0 { slot = (slot + 1) & mask }
            newTable[slot] = entry
        }
        table = newTable
        tableMask = mask
    }

    /// 64-bit FNV-1a followed by a murmur finaliser (good low bits for masking).
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 33; h &*= 0xff51_afd7_ed55_8ccd; h ^= h >> 33
        return h
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
