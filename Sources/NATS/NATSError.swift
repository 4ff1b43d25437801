// SPDX-License-Identifier: GPL-3.0-or-later
import CNATS
#if canImport(Glibc)
import Glibc
#endif

/// An error from libnats (the NATS C client): the failing call, its `natsStatus`, the JetStream
/// error code when the server sent one, and libnats' own text (`nats_GetLastError`).
public struct NATSError: Error, CustomStringConvertible, Sendable {
    /// The libnats function that failed, e.g. `natsConnection_Connect`.
    public var operation: String
    /// The `natsStatus` value (0 is `NATS_OK`).
    public var status: Int32
    /// The JetStream API error code (`jsErrCode`, e.g. 10071 wrong last sequence), 0 when none.
    public var jetStreamCode: Int
    /// libnats' text for the failure.
    public var message: String

    public init(operation: String, status: Int32, jetStreamCode: Int = 0, message: String) {
        self.operation = operation
        self.status = status
        self.jetStreamCode = jetStreamCode
        self.message = message
    }

    /// The calling thread's last libnats error for `operation` (libnats keeps it per thread).
    static func last(_ operation: String, _ status: natsStatus, _ code: jsErrCode = jsErrCode(rawValue: 0)) -> NATSError {
        var s = status
        var text = nats_GetLastError(&s).map { String(cString: $0) } ?? ""
        if text.isEmpty { text = String(cString: natsStatus_GetText(status)) }
        return NATSError(operation: operation, status: Int32(bitPattern: status.rawValue), jetStreamCode: Int(code.rawValue), message: text)
    }

    public var description: String {
        "\(operation): \(message)" + (jetStreamCode != 0 ? " (JetStream error \(jetStreamCode))" : "")
    }

    /// A request or a wait timed out (`NATS_TIMEOUT`).
    public var isTimeout: Bool { status == Int32(bitPattern: NATS_TIMEOUT.rawValue) }
    /// What was asked for does not exist (`NATS_NOT_FOUND`, or JetStream's stream/consumer not found).
    public var isNotFound: Bool {
        status == Int32(bitPattern: NATS_NOT_FOUND.rawValue)
            || jetStreamCode == Int(JSStreamNotFoundErr.rawValue) || jetStreamCode == Int(JSConsumerNotFoundErr.rawValue)
    }
    /// A conditional write lost: the key or subject was not at the expected revision
    /// (`JSStreamWrongLastSequenceErr`), e.g. a key-value `create` of a key that exists.
    /// (libnats' key-value calls report it only in their text.)
    public var isWrongLastSequence: Bool {
        jetStreamCode == Int(JSStreamWrongLastSequenceErr.rawValue) || message.contains("wrong last sequence")
    }
}

/// Runs a libnats call returning `natsStatus`; throws its error unless `NATS_OK`. The one place
/// that interprets libnats' return convention.
@inline(__always)
func natsCall(_ operation: @autoclosure () -> String, _ body: () -> natsStatus) throws(NATSError) {
    let s = body()
    if s != NATS_OK { throw NATSError.last(operation(), s) }
}

/// The same for JetStream calls that also report a `jsErrCode`.
@inline(__always)
func jsCall(_ operation: @autoclosure () -> String, _ body: (UnsafeMutablePointer<jsErrCode>) -> natsStatus) throws(NATSError) {
    var code = jsErrCode(rawValue: 0)
    let s = body(&code)
    if s != NATS_OK { throw NATSError.last(operation(), s, code) }
}

/// Calls `body` with C strings for `strings` (kept alive for the call).
func withCStrings<R, E: Error>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) throws(E) -> R) throws(E) -> R {
    let copies = strings.map { strdup($0) }
    defer { for c in copies { free(c) } }
    var pointers = copies.map { UnsafePointer($0) }
    let base = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, pointers.count))
    defer { base.deallocate() }
    for (i, p) in pointers.enumerated() { base[i] = p }
    pointers.removeAll()
    return try body(base)
}

/// Calls `body` with the bytes of `value` (a status-returning libnats call).
func withBytes(_ value: [UInt8], _ body: (UnsafeRawPointer?, Int32) -> natsStatus) -> natsStatus {
    value.withUnsafeBytes { body($0.baseAddress, Int32($0.count)) }
}
