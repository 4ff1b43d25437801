// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization

/// Interns sensor ids (UTF-8 strings) to dense `UInt32` indices, once, at ingest.
///
/// Threading: exactly one thread (the ingest thread, or the single thread of an offline run)
/// may call `intern`. Any thread may call `name(of:)` and `count` for indices it has received
/// through a ring or another synchronising hand-off: names are written before the count is
/// published with a releasing store, and never change afterwards.
///
/// The lookup table hashes the raw bytes of the id, so interning an id seen before allocates
/// nothing.
public final class SensorRegistry: @unchecked Sendable {
    /// The most sensors this registry accepts; `intern` returns nil beyond it.
    public let limit: Int
    private let names: UnsafeMutablePointer<String>
    private let published = Atomic<Int>(0)

    // Writer-only state.
    private var table: [UInt64]          // (hash high 32 bits << 32) | (index + 1); 0 = empty
    private var tableMask: Int
    private var keyBytes: [UInt8] = []
    private var keyOffsets: [Int] = [0]  // key i is keyBytes[keyOffsets[i]..<keyOffsets[i+1]]

    public init(limit: Int = 100_000) {
        precondition(limit > 0 && limit < Int(UInt32.max))
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

    /// Number of interned sensors (safe from any thread).
    public var count: Int { published.load(ordering: .acquiring) }

    /// The sensor id of an index previously returned by `intern` (safe from any thread).
    public func name(of index: UInt32) -> String {
        precondition(Int(index) < count, "unknown sensor index \(index)")
        return names[Int(index)]
    }

    /// All names, in index order (safe from any thread).
    public var allNames: [String] { (0..<count).map { names[$0] } }

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
        let index = count
        guard index < limit else { return nil }
        keyBytes.append(contentsOf: id)
        keyOffsets.append(keyBytes.count)
        (names + index).initialize(to: String(decoding: id, as: UTF8.self))
        table[slot] = (tag << 32) | UInt64(index + 1)
        published.store(index + 1, ordering: .releasing)
        if 2 * (index + 1) > table.count { grow() }
        return UInt32(index)
    }

    /// Interns a Swift string. Writer thread only.
    public func intern(_ id: String) -> UInt32? {
        var id = id
        return id.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    /// Looks up an id without interning it. Writer thread only.
    public func index(of id: String) -> UInt32? {
        var id = id
        return id.withUTF8 { buf -> UInt32? in
            let raw = UnsafeRawBufferPointer(buf)
            let h = Self.hash(raw)
            var slot = Int(truncatingIfNeeded: h) & tableMask
            while table[slot] != 0 {
                let entry = table[slot]
                let index = Int(entry & 0xFFFF_FFFF) - 1
                if entry >> 32 == h >> 32, keyEquals(index, raw) { return UInt32(index) }
                slot = (slot + 1) & tableMask
            }
            return nil
        }
    }

    private func keyEquals(_ index: Int, _ id: UnsafeRawBufferPointer) -> Bool {
        let start = keyOffsets[index]
        let length = keyOffsets[index + 1] - start
        guard length == id.count else { return false }
        return keyBytes.withUnsafeBytes { all in
            length == 0 || memcmpBytes(all.baseAddress! + start, id.baseAddress!, length)
        }
    }

    private func grow() {
        let size = table.count * 2
        var newTable = Array(repeating: UInt64(0), count: size)
        let mask = size - 1
        for entry in table where entry != 0 {
            let index = Int(entry & 0xFFFF_FFFF) - 1
            let h = keyBytes.withUnsafeBytes { all in
                Self.hash(UnsafeRawBufferPointer(rebasing: all[keyOffsets[index]..<keyOffsets[index + 1]]))
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
