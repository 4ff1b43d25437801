// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Idle strategy for a thread that polls rings: spin briefly, then yield the core, then sleep
/// with a growing pause capped at `maximumSleepMicroseconds`. Call `reset()` after useful work.
///
/// On a small box (two cores) a poller must not burn a core that the ingest thread needs, so the
/// sleep phase starts early. Owned by one thread; not shared.
public struct Backoff: Sendable {
    private var step = 0
    private let maximumSleepMicroseconds: UInt32

    public init(maximumSleepMicroseconds: UInt32 = 500) {
        self.maximumSleepMicroseconds = maximumSleepMicroseconds
    }

    /// Waits a little; each call without a `reset()` waits longer, up to the cap.
    public mutating func pause() {
        if step < 64 {
            // Busy spin: cheap, keeps latency low right after a burst.
        } else if step < 96 {
            sched_yield()
        } else {
            let exponent = min(step - 96, 10)
            let micros = min(UInt32(1) << UInt32(exponent), maximumSleepMicroseconds)
            usleep(micros)
        }
        if step < 200 { step += 1 }
    }

    /// Marks that work was found: the next `pause()` starts from a spin again.
    public mutating func reset() { step = 0 }
}
