// SPDX-License-Identifier: GPL-3.0-or-later
import CVigilOS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A named OS thread for a pipeline stage (ingest, worker, publisher), so `top -H` shows what
/// each core does. Plain pthreads: the hot path runs outside Swift concurrency, with no `async` hops.
public final class StageThread: @unchecked Sendable {
    private var thread: pthread_t? = nil
    public let name: String

    private final class Box {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept by Linux).
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        self.name = name
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = vigil_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = t
    }

    /// Waits for the thread to finish. Call once.
    public func join() {
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }
}
