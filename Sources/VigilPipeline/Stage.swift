// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A long-running part of the daemon (ingest, the workers, the publisher, the checkpointer, the
/// history, metrics and retention servers): something that runs its own threads between `start`
/// and `join`. After swift-service-lifecycle's `Service`, without `async`: the hot-path threads
/// are plain `StageThread`s owned by their stage.
///
/// Contract: `start` is called once, on the thread that owns the `StageGroup`, after everything
/// that can fail (binding sockets, opening files) is done. `requestStop` returns at once and may
/// be called from any thread, more than once. `join` is called once, after `requestStop`, on the
/// group's thread, and returns when the stage's threads have exited (having finished whatever
/// drain the stage documents). Each thread of the stage bumps its `Heartbeat` at least every
/// `Heartbeat.maximumInterval` while its loop turns, also while it waits on backpressure.
public protocol Stage: AnyObject, Sendable {
    /// The name used in logs (`ingest`, `workers`, `publisher`, …).
    var name: String { get }
    /// Starts the stage's threads.
    func start()
    /// Asks the stage to stop; returns at once. Any thread.
    func requestStop()
    /// Waits until the stage's threads have exited.
    func join()
    /// One heartbeat per thread of the stage (the watchdog checks them); empty when it has none.
    var heartbeats: [Heartbeat] { get }
    /// Shutdown has begun: the group calls it on every stage, first to last, before it stops the
    /// first one, so a stage can stop starting new work or start a give-up clock (the publisher
    /// holding alerts for a journal that cannot be written must not block the drain of the
    /// stages before it forever). It must not stop the stage. Returns at once. The default does
    /// nothing.
    func shutdownBegan()
}

extension Stage {
    public func shutdownBegan() {}
}

/// Owns the start order of the daemon's stages and the graceful drain in reverse order (after
/// swift-service-lifecycle's `ServiceGroup`): `start()` starts them first to last; `stop()` stops
/// them last to first, each one requested to stop and joined before the next is asked, so each
/// stage drains into stages that still run (ingest into the workers, the workers into the
/// publisher).
///
/// Threading: `start` and `stop` from one thread (the daemon's main thread); `heartbeats` from
/// any thread.
public final class StageGroup: @unchecked Sendable {
    /// The stages in start order.
    public let stages: [any Stage]
    private var started = false

    /// A group of `stages` in start order.
    public init(_ stages: [any Stage]) {
        self.stages = stages
    }

    /// Starts every stage, first to last. Call once.
    public func start() {
        precondition(!started, "StageGroup.start called twice")
        started = true
        for stage in stages { stage.start() }
    }

    /// Stops every started stage: tells each that shutdown began, then last to first,
    /// `requestStop()` then `join()` of each before the next. `stopped` is told each stage's name
    /// and how long it took to stop. Idempotent.
    public func stop(_ stopped: (String, Duration) -> Void = { _, _ in }) {
        guard started else { return }
        started = false
        for stage in stages { stage.shutdownBegan() }
        for stage in stages.reversed() {
            let begin = SystemTime.monotonicNanoseconds()
            stage.requestStop()
            stage.join()
            stopped(stage.name, .nanoseconds(Int64(SystemTime.monotonicNanoseconds() - begin)))
        }
    }

    /// Every heartbeat of every stage, in start order.
    public var heartbeats: [Heartbeat] { stages.flatMap(\.heartbeats) }
}

/// A thread's proof of life: a counter its loop bumps at least every `maximumInterval` (also
/// while it waits on backpressure or sleeps in slices), read by `StageWatchdog`.
///
/// Threading: one writer (the thread it belongs to), any number of readers. `beat()` is a relaxed
/// load and store of a counter on its own cache line: no read-modify-write, cheap enough for a
/// worker to call once per batch; nothing on the per-sample path.
public final class Heartbeat: @unchecked Sendable {
    /// The longest a healthy thread goes without a beat (the idle waits of every stage are shorter).
    public static let maximumInterval: Duration = .seconds(1)

    /// The thread's name (`vigil-worker0`, …), as `StageThread` names it.
    public let name: String
    private let storage: UnsafeMutablePointer<Atomic<UInt64>>

    /// A heartbeat for the thread named `name`, at 0.
    public init(name: String) {
        self.name = name
        // A line of its own: the worker writing it must not share a line with anything else.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
        storage = raw.bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        storage.initialize(to: Atomic(0))
    }

    deinit {
        storage.deinitialize(count: 1)
        UnsafeMutableRawPointer(storage).deallocate()
    }

    /// Records progress. The owning thread only.
    @inline(__always)
    public func beat() {
        storage.pointee.store(storage.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Beats so far (any thread).
    public var count: UInt64 { storage.pointee.load(ordering: .relaxed) }
}

/// Decides, before each systemd `WATCHDOG=1`, whether every stage is making progress: a
/// heartbeat that has not moved for `stallLimit` marks its thread as stalled (stuck in a call
/// that does not return, deadlocked, spinning outside its loop).
///
/// Threading: `check` from one thread (the daemon's main thread); the heartbeats it reads are
/// written by their own threads.
public final class StageWatchdog: @unchecked Sendable {
    /// A heartbeat that stopped moving.
    public struct Stall: Sendable, Equatable {
        /// The thread's name.
        public var name: String
        /// How long its heartbeat has not moved.
        public var duration: Duration
    }

    private let heartbeats: [Heartbeat]
    private let stallLimit: UInt64
    private var last: [UInt64]
    private var changedAt: [UInt64]

    /// - Parameter stallLimit: how long a heartbeat may stand still before its thread counts as
    ///   stalled; keep it well above `Heartbeat.maximumInterval`.
    public init(heartbeats: [Heartbeat], stallLimit: Duration, now: UInt64 = SystemTime.monotonicNanoseconds()) {
        self.heartbeats = heartbeats
        let (s, atto) = stallLimit.components
        self.stallLimit = UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto / 1_000_000_000))
        last = heartbeats.map(\.count)
        changedAt = Array(repeating: now, count: heartbeats.count)
    }

    /// The heartbeats that have not moved for `stallLimit` at monotonic time `now` (nanoseconds),
    /// empty when every stage made progress.
    public func check(now: UInt64 = SystemTime.monotonicNanoseconds()) -> [Stall] {
        var stalls: [Stall] = []
        for (k, h) in heartbeats.enumerated() {
            let c = h.count
            if c != last[k] {
                last[k] = c
                changedAt[k] = now
            } else if now &- changedAt[k] >= stallLimit {
                stalls.append(Stall(name: h.name, duration: .nanoseconds(Int64(now &- changedAt[k]))))
            }
        }
        return stalls
    }
}
