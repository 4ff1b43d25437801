// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization

/// A bounded, lock-free, single-producer/single-consumer ring buffer.
///
/// Contract: exactly one thread calls the producer methods (`push`, `push(contentsOf:)`,
/// `freeCapacity`) and exactly one thread calls the consumer methods (`pop`, `pop(into:)`,
/// `popBatch`, `count` may be read from either side as an estimate). Both sides may be the same
/// thread. Any number of threads may read `approximateCount` for metrics.
///
/// Design (after rigtorp/SPSCQueue and the LMAX Disruptor): the capacity is a power of two and
/// slots are indexed by ever-increasing sequence numbers masked into the buffer. The producer's
/// `tail` and the consumer's `head` live on separate 128-byte lines; each side keeps a private
/// cache of the other side's index and reloads it with an acquiring load only when the cache says
/// full (producer) or empty (consumer). Elements are published with a releasing store of the
/// index. No allocation happens after `init`.
public final class SPSCRing<Element>: @unchecked Sendable {
    /// Number of slots; a power of two.
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element>
    /// Storage of the four indices, each on its own 128-byte line (128 bytes defeats the adjacent
    /// line prefetcher on x86 as well as 128-byte lines on Apple silicon).
    private let lines: UnsafeMutableRawPointer
    private static var lineSize: Int { 128 }

    /// Consumer-owned: next sequence number to read (published to the producer).
    private var head: UnsafeMutablePointer<Atomic<Int>> { lines.assumingMemoryBound(to: Atomic<Int>.self) }
    /// Producer-owned: next sequence number to write (published to the consumer).
    private var tail: UnsafeMutablePointer<Atomic<Int>> {
        (lines + Self.lineSize).assumingMemoryBound(to: Atomic<Int>.self)
    }
    /// Producer's private cache of `head`.
    private var cachedHead: UnsafeMutablePointer<Int> { (lines + 2 * Self.lineSize).assumingMemoryBound(to: Int.self) }
    /// Consumer's private cache of `tail`.
    private var cachedTail: UnsafeMutablePointer<Int> { (lines + 3 * Self.lineSize).assumingMemoryBound(to: Int.self) }

    /// Creates a ring with room for at least `minimumCapacity` elements (rounded up to a power of two).
    public init(minimumCapacity: Int) {
        precondition(minimumCapacity > 0, "SPSCRing capacity must be positive")
        var cap = 1
        while cap < minimumCapacity { cap <<= 1 }
        capacity = cap
        mask = cap - 1
        slots = .allocate(capacity: cap)
        lines = .allocate(byteCount: 4 * Self.lineSize, alignment: Self.lineSize)
        lines.bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        (lines + Self.lineSize).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        (lines + 2 * Self.lineSize).bindMemory(to: Int.self, capacity: 1).initialize(to: 0)
        (lines + 3 * Self.lineSize).bindMemory(to: Int.self, capacity: 1).initialize(to: 0)
    }

    deinit {
        let h = head.pointee.load(ordering: .relaxed)
        let t = tail.pointee.load(ordering: .relaxed)
        var i = h
        while i != t {
            (slots + (i & mask)).deinitialize(count: 1)
            i &+= 1
        }
        slots.deallocate()
        lines.deallocate()
    }

    // MARK: Producer

    /// Number of slots the producer can fill right now (producer only).
    public var freeCapacity: Int { producerFree(minimum: capacity) }

    private func producerFree(minimum: Int) -> Int {
        let t = tail.pointee.load(ordering: .relaxed)
        var free = capacity - (t &- cachedHead.pointee)
        if free < minimum {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            free = capacity - (t &- cachedHead.pointee)
        }
        return free
    }

    /// Appends one element; returns false (and drops nothing: the element is handed back to the
    /// caller untouched) when the ring is full. Producer only.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        let t = tail.pointee.load(ordering: .relaxed)
        if t &- cachedHead.pointee == capacity {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            if t &- cachedHead.pointee == capacity { return false }
        }
        (slots + (t & mask)).initialize(to: element)
        tail.pointee.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Appends as many leading elements of `buffer` as fit and returns how many were taken.
    /// One releasing store publishes the whole batch. Producer only.
    public func push(contentsOf buffer: UnsafeBufferPointer<Element>) -> Int {
        if buffer.isEmpty { return 0 }
        let t = tail.pointee.load(ordering: .relaxed)
        var free = capacity - (t &- cachedHead.pointee)
        if free < buffer.count {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            free = capacity - (t &- cachedHead.pointee)
        }
        let n = min(free, buffer.count)
        if n == 0 { return 0 }
        let start = t & mask
        let first = min(n, capacity - start)
        (slots + start).initialize(from: buffer.baseAddress!, count: first)
        if first < n {
            slots.initialize(from: buffer.baseAddress! + first, count: n - first)
        }
        tail.pointee.store(t &+ n, ordering: .releasing)
        return n
    }

    // MARK: Consumer

    /// Removes and returns the oldest element, or nil when empty. Consumer only.
    public func pop() -> Element? {
        let h = head.pointee.load(ordering: .relaxed)
        if h == cachedTail.pointee {
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            if h == cachedTail.pointee { return nil }
        }
        let element = (slots + (h & mask)).move()
        head.pointee.store(h &+ 1, ordering: .releasing)
        return element
    }

    /// Moves up to `buffer.count` of the oldest elements into the *uninitialized* memory of
    /// `buffer` and returns how many were moved. Consumer only.
    public func pop(into buffer: UnsafeMutableBufferPointer<Element>) -> Int {
        let n = readable(maximum: buffer.count)
        if n == 0 { return 0 }
        let h = head.pointee.load(ordering: .relaxed)
        let start = h & mask
        let first = min(n, capacity - start)
        buffer.baseAddress!.moveInitialize(from: slots + start, count: first)
        if first < n {
            (buffer.baseAddress! + first).moveInitialize(from: slots, count: n - first)
        }
        head.pointee.store(h &+ n, ordering: .releasing)
        return n
    }

    /// Lends up to `maximum` of the oldest elements to `body` in place (as one or two contiguous
    /// runs), then consumes them. Elements are deinitialized after `body` returns. Consumer only.
    /// Returns the number consumed. This is the zero-copy batch pop.
    @discardableResult
    public func consume(maximum: Int = .max, _ body: (UnsafeMutableBufferPointer<Element>) throws -> Void) rethrows -> Int {
        let n = readable(maximum: maximum)
        if n == 0 { return 0 }
        let h = head.pointee.load(ordering: .relaxed)
        let start = h & mask
        let first = min(n, capacity - start)
        let run1 = UnsafeMutableBufferPointer(start: slots + start, count: first)
        try body(run1)
        run1.baseAddress!.deinitialize(count: first)
        if first < n {
            let run2 = UnsafeMutableBufferPointer(start: slots, count: n - first)
            try body(run2)
            slots.deinitialize(count: n - first)
        }
        head.pointee.store(h &+ n, ordering: .releasing)
        return n
    }

    private func readable(maximum: Int) -> Int {
        let h = head.pointee.load(ordering: .relaxed)
        var avail = cachedTail.pointee &- h
        if avail < maximum {
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            avail = cachedTail.pointee &- h
        }
        return min(avail, maximum)
    }

    // MARK: Either side

    /// An estimate of the number of queued elements, safe from any thread (for metrics).
    public var approximateCount: Int {
        let t = tail.pointee.load(ordering: .acquiring)
        let h = head.pointee.load(ordering: .acquiring)
        return max(0, min(capacity, t &- h))
    }

    /// True when the consumer would find nothing to read. Consumer side.
    public var isEmpty: Bool { readable(maximum: 1) == 0 }
}
