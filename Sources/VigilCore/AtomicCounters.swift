// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization

/// A fixed array of relaxed atomic counters, each on its own cache line so that counters bumped
/// by different threads do not share a line. For metrics: any thread may add and read.
public final class AtomicCounters: @unchecked Sendable {
    private static var stride: Int { 128 }
    private let storage: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int) {
        self.count = count
        storage = .allocate(byteCount: max(count, 1) * Self.stride, alignment: Self.stride)
        for i in 0..<count {
            (storage + i * Self.stride).bindMemory(to: Atomic<UInt64>.self, capacity: 1).initialize(to: Atomic(0))
        }
    }

    deinit { storage.deallocate() }

    @inline(__always)
    private func slot(_ i: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        precondition(i >= 0 && i < count)
        return (storage + i * Self.stride).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// Adds `delta` to counter `i` (relaxed).
    @inline(__always)
    public func add(_ i: Int, _ delta: UInt64) {
        slot(i).pointee.wrappingAdd(delta, ordering: .relaxed)
    }

    /// Sets counter `i` (relaxed); for gauges.
    @inline(__always)
    public func set(_ i: Int, _ value: UInt64) {
        slot(i).pointee.store(value, ordering: .relaxed)
    }

    /// Counter `i` (relaxed).
    public subscript(i: Int) -> UInt64 { slot(i).pointee.load(ordering: .relaxed) }
}
