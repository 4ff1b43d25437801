// SPDX-License-Identifier: GPL-3.0-or-later
import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from libzmq: the failing call, `errno` and libzmq's own text (`zmq_strerror`).
public struct ZMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The libzmq function that failed, e.g. `zmq_bind`.
    public var operation: String
    /// The `errno` value libzmq reported (`zmq_errno()`).
    public var code: Int32
    /// `zmq_strerror(code)`.
    public var message: String

    public init(operation: String, code: Int32) {
        self.operation = operation
        self.code = code
        self.message = String(cString: zmq_strerror(code))
    }

    /// The current thread's `zmq_errno()` for `operation`.
    static func last(_ operation: String) -> ZMQError { ZMQError(operation: operation, code: zmq_errno()) }

    public var description: String { "\(operation): \(message) (errno \(code))" }

    /// The context was terminated while a call was blocked in it.
    public var isTerminated: Bool { code == ETERM }
    /// The operation would block (`EAGAIN`): a timeout or a non-blocking call with nothing to do.
    public var isWouldBlock: Bool { code == EAGAIN }
}

/// libzmq's version, e.g. (4, 3, 4).
public var zmqVersion: (major: Int, minor: Int, patch: Int) {
    var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
    zmq_version(&a, &b, &c)
    return (Int(a), Int(b), Int(c))
}

/// Runs a libzmq call that returns -1 on failure, retrying on `EINTR`. The one place that
/// interprets libzmq's return convention.
@inline(__always)
func zmqCall(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 { return rc }
        let e = zmq_errno()
        if e == EINTR { continue }
        throw ZMQError(operation: operation(), code: e)
    }
}

/// A ZeroMQ context (`zmq_ctx_new`). Thread-safe: share one per process.
/// `terminate()` (or deinit) calls `zmq_ctx_term`, which waits for every socket to close; every
/// socket Vigil creates sets `ZMQ_LINGER`, so this never hangs on unsent messages.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var terminated = false

    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let h = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        handle = h
        _ = try zmqCall("zmq_ctx_set") { zmq_ctx_set(h, ZMQ_IO_THREADS, Int32(ioThreads)) }
    }

    /// Terminates the context: blocked calls in other threads fail with `ETERM`.
    /// Call once, after the owning threads closed their sockets (or to interrupt them).
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}

/// Whether libzmq was built with CURVE security (needs libsodium).
public var zmqHasCurve: Bool { zmq_has("curve") != 0 }

/// The CURVE public key (Z85) of the secret key `secretKey` (40 Z85 characters), from
/// `zmq_curve_public`. Throws `EINVAL` for a malformed key and `ENOTSUP` without CURVE.
public func zmqCurvePublicKey(secretKey: String) throws(ZMQError) -> String {
    guard secretKey.utf8.count == 40 else { throw ZMQError(operation: "zmq_curve_public", code: EINVAL) }
    var pub = [CChar](repeating: 0, count: 41)
    _ = try zmqCall("zmq_curve_public") { zmq_curve_public(&pub, secretKey) }
    return cText(pub)
}

/// A CURVE key pair in Z85 text (40 characters each), from `zmq_curve_keypair`.
public func zmqCurveKeyPair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
    var pub = [CChar](repeating: 0, count: 41)
    var sec = [CChar](repeating: 0, count: 41)
    _ = try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&pub, &sec) }
    return (cText(pub), cText(sec))
}

/// The text of a NUL-terminated C buffer (a Z85 key, an endpoint).
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
