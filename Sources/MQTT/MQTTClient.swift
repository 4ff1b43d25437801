// SPDX-License-Identifier: GPL-3.0-or-later
import CMosquitto
#if canImport(Glibc)
import Glibc
#endif

/// An error from libmosquitto: the failing call, the `MOSQ_ERR_*` code and its text
/// (`mosquitto_strerror`, or `mosquitto_connack_string` for a refused connection).
public struct MQTTError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    /// The `MOSQ_ERR_*` value, or the CONNACK reason code for a refused connection.
    public var code: Int32
    public var message: String

    public init(operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }

    static func mosquitto(_ operation: String, _ rc: Int32) -> MQTTError {
        var text = String(cString: mosquitto_strerror(rc))
        if rc == Int32(MOSQ_ERR_ERRNO.rawValue) { text = String(cString: strerror(errno)) }
        return MQTTError(operation: operation, code: rc, message: text)
    }

    public var description: String { "\(operation): \(message)" }
}

/// One received message, lent to the handler of `MQTTClient.loop` (valid only inside it).
public struct MQTTMessageView {
    /// The topic's bytes (the sensor id).
    public var topic: UnsafeRawBufferPointer
    public var payload: UnsafeRawBufferPointer
    public var qos: Int
}

/// An MQTT 3.1.1 client (`struct mosquitto`) subscribed to topic filters, run by its owner's
/// thread (no libmosquitto thread): the owner polls `socket` and calls `loop`, which reads,
/// writes, keeps the connection alive and hands each message to the handler on that thread.
///
/// Acknowledgement of QoS 1: libmosquitto queues the PUBACK before it calls the message handler;
/// the client runs in libmosquitto's external-thread mode, so a queued packet is only written by
/// the next `loop`, after the handler returned. A handler that hands the samples to the pipeline
/// before returning therefore acknowledges only what it handed over.
///
/// The session is persistent when a client id is given (`clean_session` false): the broker keeps
/// QoS 1 messages for the client while it is away and delivers them on reconnect.
///
/// Threading: owned by one thread; everything is called from it.
public final class MQTTClient: @unchecked Sendable {
    /// How to reach the broker and what to subscribe to.
    public struct Options: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// Whether to use TLS (`mqtts://`).
        public var tls: Bool
        /// CA file for the broker's certificate (TLS; nil: the system's CAs in /etc/ssl/certs).
        public var caFile: String?
        /// Client certificate and key (TLS client authentication), both or neither.
        public var certFile: String?
        public var keyFile: String?
        /// Skip the broker certificate's host name check (testing only).
        public var insecure: Bool
        public var clientID: String
        public var username: String?
        public var password: String?
        /// Topic filters (`+` and `#` wildcards).
        public var topics: [String]
        /// QoS of the subscriptions: 0 or 1.
        public var qos: Int
        public var keepAliveSeconds: Int

        public init(host: String, port: Int, tls: Bool = false, caFile: String? = nil, certFile: String? = nil,
                    keyFile: String? = nil, insecure: Bool = false, clientID: String, username: String? = nil,
                    password: String? = nil, topics: [String], qos: Int = 1, keepAliveSeconds: Int = 30) {
            self.host = host
            self.port = port
            self.tls = tls
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
            self.clientID = clientID
            self.username = username
            self.password = password
            self.topics = topics
            self.qos = qos
            self.keepAliveSeconds = keepAliveSeconds
        }
    }

    private static let initialised: Bool = { mosquitto_lib_init() == 0 }()

    public let options: Options
    private let handle: OpaquePointer
    /// The CONNACK result of the last connection attempt (nil while waiting for it).
    fileprivate var connack: Int32?
    fileprivate var connected = false
    fileprivate var handler: ((MQTTMessageView) -> Void)?
    /// Messages handed to the handler so far.
    public private(set) var messagesReceived: UInt64 = 0

    /// Creates the client (nothing is connected yet).
    public init(options: Options) throws(MQTTError) {
        _ = Self.initialised
        self.options = options
        guard let m = mosquitto_new(options.clientID, false, nil) else {
            throw MQTTError(operation: "mosquitto_new", code: errno, message: String(cString: strerror(errno)))
        }
        handle = m
        mosquitto_user_data_set(m, Unmanaged.passUnretained(self).toOpaque())
        _ = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        _ = mosquitto_threaded_set(m, true)
        mosquitto_connect_callback_set(m) { _, user, rc in
            let client = Unmanaged<MQTTClient>.fromOpaque(user!).takeUnretainedValue()
            client.connack = rc
            client.connected = rc == 0
            if rc == 0 {
                for topic in client.options.topics {
                    _ = mosquitto_subscribe(client.handle, nil, topic, Int32(client.options.qos))
                }
            }
        }
        mosquitto_disconnect_callback_set(m) { _, user, _ in
            Unmanaged<MQTTClient>.fromOpaque(user!).takeUnretainedValue().connected = false
        }
        mosquitto_message_callback_set(m) { _, user, message in
            let client = Unmanaged<MQTTClient>.fromOpaque(user!).takeUnretainedValue()
            guard let message, let topic = message.pointee.topic else { return }
            client.messagesReceived &+= 1
            let view = MQTTMessageView(topic: UnsafeRawBufferPointer(start: topic, count: strlen(topic)),
                                       payload: UnsafeRawBufferPointer(start: message.pointee.payload, count: Int(message.pointee.payloadlen)),
                                       qos: Int(message.pointee.qos))
            client.handler?(view)
        }
        do throws(MQTTError) {
            if let username = options.username {
                try check("mosquitto_username_pw_set") { mosquitto_username_pw_set(m, username, options.password) }
            }
            if options.tls {
                let caPath = options.caFile == nil ? "/etc/ssl/certs" : nil
                try check("mosquitto_tls_set") {
                    mosquitto_tls_set(m, options.caFile, caPath, options.certFile, options.keyFile, nil)
                }
                if options.insecure { try check("mosquitto_tls_insecure_set") { mosquitto_tls_insecure_set(m, true) } }
            }
        } catch {
            mosquitto_destroy(m)
            throw error
        }
    }

    deinit { mosquitto_destroy(handle) }

    private func check(_ operation: String, _ body: () -> Int32) throws(MQTTError) {
        let rc = body()
        if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError.mosquitto(operation, rc) }
    }

    private var brokerName: String { "\(options.tls ? "mqtts" : "mqtt")://\(options.host):\(options.port)" }

    /// Connects and waits up to `timeoutMilliseconds` for the broker to accept (CONNACK), so
    /// that an unreachable broker, a refused login or a TLS failure is reported at start-up.
    public func connect(timeoutMilliseconds: Int = 5000) throws(MQTTError) {
        connack = nil
        try check("connect to \(brokerName)") {
            mosquitto_connect(handle, options.host, Int32(options.port), Int32(options.keepAliveSeconds))
        }
        var waited = 0
        while connack == nil {
            let rc = mosquitto_loop(handle, 100, 1)
            if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError.mosquitto("connect to \(brokerName)", rc) }
            waited += 100
            if waited >= timeoutMilliseconds {
                throw MQTTError(operation: "connect to \(brokerName)", code: -1, message: "no CONNACK within \(timeoutMilliseconds) ms")
            }
        }
        if let rc = connack, rc != 0 {
            throw MQTTError(operation: "connect to \(brokerName)", code: rc, message: String(cString: mosquitto_connack_string(rc)))
        }
    }

    /// The socket to poll for readability (-1 while disconnected).
    public var socket: Int32 { mosquitto_socket(handle) }

    /// Whether the client holds an accepted connection.
    public var isConnected: Bool { connected }

    /// Whether libmosquitto has packets queued to write (poll for writability then).
    public var wantsWrite: Bool { mosquitto_want_write(handle) }

    /// Runs the client once: reads what arrived (handing each message to `handler`), writes what
    /// is queued (the PUBACKs of what the handler took), keeps alive. Waits at most
    /// `timeoutMilliseconds` for the socket. Returns the error of a lost connection (the caller
    /// calls `reconnect` later), nil otherwise.
    public func loop(timeoutMilliseconds: Int, handler: (MQTTMessageView) -> Void) -> MQTTError? {
        return withoutActuallyEscaping(handler) { h in
            self.handler = h
            defer { self.handler = nil }
            var rc = mosquitto_loop(handle, Int32(timeoutMilliseconds), 64)
            // Write the acknowledgements of what was just handed over without waiting a turn.
            if rc == Int32(MOSQ_ERR_SUCCESS.rawValue), mosquitto_want_write(handle) { rc = mosquitto_loop_write(handle, 64) }
            if rc == Int32(MOSQ_ERR_SUCCESS.rawValue) { return nil }
            connected = false
            return MQTTError.mosquitto("mqtt \(brokerName)", rc)
        }
    }

    /// Tries to connect again after a lost connection (`mosquitto_reconnect`); the broker
    /// then delivers what it kept for the session, and the subscriptions are renewed.
    public func reconnect() -> MQTTError? {
        let rc = mosquitto_reconnect(handle)
        return rc == Int32(MOSQ_ERR_SUCCESS.rawValue) ? nil : MQTTError.mosquitto("reconnect to \(brokerName)", rc)
    }

    /// Disconnects cleanly (`mosquitto_disconnect`).
    public func disconnect() {
        _ = mosquitto_disconnect(handle)
        _ = mosquitto_loop(handle, 10, 1)
        connected = false
    }
}
