// SPDX-License-Identifier: GPL-3.0-or-later
import CVigilOS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lets a ring's consumer sleep until its producer has pushed something, instead of sleeping a
/// fixed time and checking again (which adds up to that time to every item's latency).
///
/// The consumer `sleep`s: it marks itself asleep, checks the ring once more, and waits on an
/// eventfd (with a timeout, so a missed ring costs at most that). The producer `ring`s after each
/// push: one fence and a relaxed load, plus a `write(2)` only while the consumer is asleep. The
/// two fences order "push, then read the flag" against "set the flag, then read the ring"
/// (Dekker), so a push is either seen by the consumer's last check or rings the bell.
///
/// Threading: `ring` from one producer thread, `sleep` from one consumer thread.
final class Doorbell: @unchecked Sendable {
    private let fd: Int32
    private let asleep = Atomic<Bool>(false)

    /// A doorbell on a fresh eventfd (without one, `sleep` only sleeps out its timeout).
    init() {
        fd = vigil_eventfd()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Producer side, after a push: wakes the consumer if it sleeps.
    @inline(__always)
    func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if asleep.load(ordering: .relaxed) && fd >= 0 {
            var one: UInt64 = 1
            _ = write(fd, &one, 8)
        }
    }

    /// Consumer side: sleeps until `ring` or `timeoutMilliseconds`, unless `ready()` already
    /// holds once the consumer is marked asleep.
    func sleep(timeoutMilliseconds: Int32, unless ready: () -> Bool) {
        asleep.store(true, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !ready() {
            var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&item, 1, timeoutMilliseconds)
        }
        asleep.store(false, ordering: .relaxed)
        var count: UInt64 = 0
        if fd >= 0 { _ = read(fd, &count, 8) }  // non-blocking: clears a ring that came in meanwhile
    }
}
