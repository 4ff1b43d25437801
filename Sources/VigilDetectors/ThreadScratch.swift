// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread scratch objects (FFT buffers) shared by every detector a worker thread updates, so
/// per-sensor state holds only what must survive between samples.
///
/// Each thread's set lives in a POSIX thread-specific slot (`pthread_key_create`) and is released
/// when the thread exits. A user caches a `Handle` (a strong reference to the set it took the
/// object from, and the object); on each use it compares the cached set with the calling thread's
/// by identity (`pthread_getspecific`: no lock, no allocation). So a value moved to, or copied
/// onto, another thread never shares scratch with a value running concurrently elsewhere. The
/// strong reference keeps an exited thread's set alive while a handle holds it, so its address
/// cannot be reused by another thread's set and mistaken for it.
enum ThreadScratch {
    /// Identifies one kind of scratch object and its size.
    struct Key: Hashable {
        var type: ObjectIdentifier
        var count: Int
    }

    /// One thread's scratch objects. Only its own thread touches `objects`.
    final class ThreadSet: @unchecked Sendable {
        var objects: [Key: AnyObject] = [:]
    }

    /// What a user caches: the thread set its object came from, and the object.
    struct Handle<Object: AnyObject>: @unchecked Sendable {
        let owner: ThreadSet
        let object: Object
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<ThreadSet>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<ThreadSet>.fromOpaque(pointer).release() }
            #endif
        }
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()

    /// The calling thread's `Object` of size `count`, reusing `cached` when it belongs to this
    /// thread, otherwise taking (or making, with `make`) the thread's own and caching it.
    @inline(__always)
    static func object<Object: AnyObject>(count: Int, cached: inout Handle<Object>?,
                                          make: (Int) -> Object) -> Object {
        let current = pthread_getspecific(key)
        if let handle = cached, let current, Unmanaged.passUnretained(handle.owner).toOpaque() == current {
            return handle.object
        }
        let handle = slowHandle(count: count, current: current, make: make)
        cached = handle
        return handle.object
    }

    @inline(never)
    private static func slowHandle<Object: AnyObject>(count: Int, current: UnsafeMutableRawPointer?,
                                                      make: (Int) -> Object) -> Handle<Object> {
        let set: ThreadSet
        if let current {
            set = Unmanaged<ThreadSet>.fromOpaque(current).takeUnretainedValue()
        } else {
            set = ThreadSet()
            pthread_setspecific(key, Unmanaged.passRetained(set).toOpaque())
        }
        let k = Key(type: ObjectIdentifier(Object.self), count: count)
        if let existing = set.objects[k] as? Object { return Handle(owner: set, object: existing) }
        let made = make(count)
        set.objects[k] = made
        return Handle(owner: set, object: made)
    }
}
