// SPDX-License-Identifier: GPL-3.0-or-later
import CNATS
#if canImport(Glibc)
import Glibc
#endif

/// A connection to a NATS server or cluster (`natsConnection`). libnats runs its own I/O thread;
/// a connection is thread-safe, share one per process. It reconnects to any server of the
/// cluster on its own (for ever, every `reconnectWait`), buffering what is published meanwhile.
public final class NATSConnection: @unchecked Sendable {
    let handle: OpaquePointer

    /// Connects to the first reachable of `servers` (`nats://host:port`). Throws, naming the
    /// servers, when none answers within `timeoutMilliseconds`.
    public init(servers: [String], name: String, timeoutMilliseconds: Int64 = 2000,
                reconnectWaitMilliseconds: Int64 = 250, user: String? = nil, password: String? = nil) throws(NATSError) {
        var opts: OpaquePointer?
        try natsCall("natsOptions_Create") { natsOptions_Create(&opts) }
        defer { natsOptions_Destroy(opts) }
        do {
            try withCStrings(servers) { list throws(NATSError) in
                try natsCall("natsOptions_SetServers") { natsOptions_SetServers(opts, list, Int32(servers.count)) }
            }
            try natsCall("natsOptions_SetName") { natsOptions_SetName(opts, name) }
            try natsCall("natsOptions_SetTimeout") { natsOptions_SetTimeout(opts, timeoutMilliseconds) }
            try natsCall("natsOptions_SetMaxReconnect") { natsOptions_SetMaxReconnect(opts, -1) }
            try natsCall("natsOptions_SetReconnectWait") { natsOptions_SetReconnectWait(opts, reconnectWaitMilliseconds) }
            if let user { try natsCall("natsOptions_SetUserInfo") { natsOptions_SetUserInfo(opts, user, password) } }
            var nc: OpaquePointer?
            try natsCall("natsConnection_Connect to \(servers.joined(separator: ","))") { natsConnection_Connect(&nc, opts) }
            handle = nc!
        }
    }

    deinit {
        natsConnection_Destroy(handle)
    }

    /// Flushes what is buffered and closes (`natsConnection_Close`). Idempotent.
    public func close() {
        _ = natsConnection_FlushTimeout(handle, 1000)
        natsConnection_Close(handle)
    }

    /// Whether the connection is up now (`natsConnection_Status`): false while reconnecting.
    public var isConnected: Bool { natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED }

    /// The URL of the server currently connected to ("" while reconnecting).
    public var connectedURL: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard natsConnection_GetConnectedUrl(handle, &buffer, buffer.count) == NATS_OK else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A JetStream context on this connection; its API requests wait up to `timeoutMilliseconds`.
    public func jetStream(timeoutMilliseconds: Int64 = 5000) throws(NATSError) -> JetStream {
        var opts = jsOptions()
        try natsCall("jsOptions_Init") { jsOptions_Init(&opts) }
        opts.Wait = timeoutMilliseconds
        var js: OpaquePointer?
        try natsCall("natsConnection_JetStream") { natsConnection_JetStream(&js, handle, &opts) }
        return JetStream(handle: js!, connection: self)
    }
}
