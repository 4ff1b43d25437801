// SPDX-License-Identifier: GPL-3.0-or-later
import RingBuffer
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Stress sizes scale with VIGIL_LONG_TESTS (e.g. 100 for a soak run).
let scale: Int = {
    if let s = getenv("VIGIL_LONG_TESTS"), let v = Int(String(cString: s)), v > 0 { return v }
    return 1
}()

/// Counts live instances to prove the ring neither leaks nor double-frees elements.
final class Tracked: @unchecked Sendable {
    static let live = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) { self.value = value; Self.live.wrappingAdd(1, ordering: .relaxed) }
    deinit { Self.live.wrappingSubtract(1, ordering: .relaxed) }
}

@Suite("SPSC ring")
struct SPSCRingTests {
    @Test("capacity rounds up to a power of two", arguments: [(1, 1), (3, 4), (4, 4), (1000, 1024)])
    func capacity(requested: Int, expected: Int) {
        #expect(SPSCRing<Int>(minimumCapacity: requested).capacity == expected)
    }

    @Test("push until full, pop until empty, in order")
    func fillAndDrain() {
        let ring = SPSCRing<Int>(minimumCapacity: 8)
        for i in 0..<8 { #expect(ring.push(i)) }
        #expect(!ring.push(99), "a full ring refuses")
        #expect(ring.approximateCount == 8)
        for i in 0..<8 { #expect(ring.pop() == i) }
        #expect(ring.pop() == nil)
        #expect(ring.isEmpty)
    }

    @Test("batch push and pop wrap around the end of the buffer")
    func batchWrap() {
        let ring = SPSCRing<Int>(minimumCapacity: 8)
        var next = 0
        var expected = 0
        for _ in 0..<50 {
            let batch = (0..<5).map { _ in defer { next += 1 }; return next }
            let pushed = batch.withUnsafeBufferPointer { ring.push(contentsOf: $0) }
            #expect(pushed == 5)
            var out = [Int](repeating: -1, count: 5)
            let popped = out.withUnsafeMutableBufferPointer { buf -> Int in
                buf.initialize(repeating: 0)
                return ring.pop(into: buf)
            }
            #expect(popped == 5)
            #expect(out == Array(expected..<(expected + 5)))
            expected += 5
        }
    }

    @Test("a partial batch push takes only what fits")
    func partialPush() {
        let ring = SPSCRing<Int>(minimumCapacity: 4)
        let pushed = [1, 2, 3, 4, 5, 6].withUnsafeBufferPointer { ring.push(contentsOf: $0) }
        #expect(pushed == 4)
        var seen: [Int] = []
        ring.consume { seen += Array($0) }
        #expect(seen == [1, 2, 3, 4])
    }

    @Test("non-trivial elements are neither leaked nor freed twice")
    func noLeaks() {
        do {
            let ring = SPSCRing<Tracked>(minimumCapacity: 16)
            for i in 0..<10 { ring.push(Tracked(i)) }
            #expect(ring.pop()?.value == 0)
            ring.consume(maximum: 3) { buf in #expect(buf.map(\.value) == [1, 2, 3]) }
            #expect(Tracked.live.load(ordering: .relaxed) == 6)
        }
        // The ring's deinit releases the six still queued.
        #expect(Tracked.live.load(ordering: .relaxed) == 0)
    }

    @Test("two threads: every item arrives once, in order (batches)")
    func stressOrdered() async {
        let total = 10_000_000 * scale
        let ring = SPSCRing<Int>(minimumCapacity: 4096)
        let producer = Thread { 
            var next = 0
            var batch = [Int](repeating: 0, count: 256)
            while next < total {
                let n = min(256, total - next)
                for k in 0..<n { batch[k] = next + k }
                var done = 0
                while done < n {
                    done += batch.withUnsafeBufferPointer { ring.push(contentsOf: UnsafeBufferPointer(rebasing: $0[done..<n])) }
                }
                next += n
            }
        }
        var expected = 0
        var ok = true
        while expected < total {
            ring.consume(maximum: 1024) { buf in
                for v in buf {
                    if v != expected { ok = false }
                    expected += 1
                }
            }
        }
        producer.join()
        #expect(ok, "items arrived out of order or duplicated")
        #expect(expected == total)
        #expect(ring.isEmpty)
    }

    @Test("two threads: single push and pop")
    func stressSingle() {
        let total = 1_000_000 * scale
        let ring = SPSCRing<Int>(minimumCapacity: 64)
        let producer = Thread {
            var i = 0
            while i < total { if ring.push(i) { i += 1 } }
        }
        var expected = 0
        var ok = true
        while expected < total {
            if let v = ring.pop() {
                if v != expected { ok = false }
                expected += 1
            }
        }
        producer.join()
        #expect(ok)
    }
}

/// A minimal joinable thread for the tests (pthread, so the test does not depend on Foundation).
final class Thread: @unchecked Sendable {
    private var t = pthread_t()
    private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&t, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
    }
    func join() { pthread_join(t, nil) }
}
