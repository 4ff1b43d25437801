// SPDX-License-Identifier: GPL-3.0-or-later
import CNATS
#if canImport(Glibc)
import Glibc
#endif

/// A JetStream context (`jsCtx`): streams, publishing with a de-duplication id, pull consumers,
/// ordered consumers and key-value buckets. Thread-safe like its connection.
public final class JetStream: @unchecked Sendable {
    let handle: OpaquePointer
    /// Kept alive as long as the context is.
    public let connection: NATSConnection

    init(handle: OpaquePointer, connection: NATSConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { jsCtx_Destroy(handle) }

    // MARK: Streams

    /// What `streamInfo` reports of a stream.
    public struct StreamInfo: Sendable, Equatable {
        public var name: String
        public var subjects: [String]
        public var description: String
        public var replicas: Int
        /// Messages stored and the last sequence.
        public var messages: UInt64
        public var lastSequence: UInt64
    }

    /// The stream `name`, or nil when it does not exist (`js_GetStreamInfo`).
    public func streamInfo(_ name: String) throws(NATSError) -> StreamInfo? {
        var si: UnsafeMutablePointer<jsStreamInfo>?
        do throws(NATSError) {
            try jsCall("js_GetStreamInfo \(name)") { js_GetStreamInfo(&si, handle, name, nil, $0) }
        } catch where error.isNotFound {
            return nil
        }
        defer { jsStreamInfo_Destroy(si) }
        let c = si!.pointee.Config!.pointee
        let subjects = (0..<Int(c.SubjectsLen)).compactMap { c.Subjects[$0].map { String(cString: $0) } }
        return StreamInfo(name: String(cString: c.Name), subjects: subjects,
                          description: c.Description.map { String(cString: $0) } ?? "",
                          replicas: Int(c.Replicas), messages: si!.pointee.State.Msgs, lastSequence: si!.pointee.State.LastSeq)
    }

    /// Creates a file-backed stream (`js_AddStream`): `subjects`, `replicas` copies, JetStream's
    /// de-duplication of `Nats-Msg-Id` within `duplicateWindowNanoseconds`, messages kept for
    /// `maxAgeNanoseconds` (0: for ever); with `workQueue`, a message is deleted once acknowledged.
    public func addStream(name: String, subjects: [String], description: String, replicas: Int,
                          duplicateWindowNanoseconds: Int64, maxAgeNanoseconds: Int64 = 0,
                          workQueue: Bool = false) throws(NATSError) {
        var cfg = jsStreamConfig()
        try natsCall("jsStreamConfig_Init") { jsStreamConfig_Init(&cfg) }
        let cName = strdup(name), cDescription = strdup(description)
        defer { free(cName); free(cDescription) }
        cfg.Name = UnsafePointer(cName)
        cfg.Description = UnsafePointer(cDescription)
        cfg.Storage = js_FileStorage
        cfg.Replicas = Int64(replicas)
        cfg.Duplicates = duplicateWindowNanoseconds
        cfg.MaxAge = maxAgeNanoseconds
        // A work queue deletes each message once acknowledged (one consumer per subject).
        if workQueue { cfg.Retention = js_WorkQueuePolicy }
        try withCStrings(subjects) { list throws(NATSError) in
            cfg.Subjects = list
            cfg.SubjectsLen = Int32(subjects.count)
            var si: UnsafeMutablePointer<jsStreamInfo>?
            try jsCall("js_AddStream \(name)") { js_AddStream(&si, handle, &cfg, nil, $0) }
            jsStreamInfo_Destroy(si)
        }
    }

    // MARK: Publishing

    /// What the stream answered to a publish (`jsPubAck`).
    public struct PublishAck: Sendable, Equatable {
        public var stream: String
        /// The stream sequence of the message (of the original when `duplicate`).
        public var sequence: UInt64
        /// JetStream had the `Nats-Msg-Id` already within the stream's duplicate window and
        /// stored nothing.
        public var duplicate: Bool
    }

    /// Publishes `payload` on `subject` and waits for the stream's acknowledgement
    /// (`js_Publish`); with `messageID` it is sent as `Nats-Msg-Id`, so a retry is stored once.
    @discardableResult
    public func publish(subject: String, payload: UnsafeRawBufferPointer, messageID: String? = nil,
                        timeoutMilliseconds: Int64 = 0) throws(NATSError) -> PublishAck {
        var po = jsPubOptions()
        try natsCall("jsPubOptions_Init") { jsPubOptions_Init(&po) }
        let id = messageID.map { strdup($0) }
        defer { if let id { free(id) } }
        if let id { po.MsgId = UnsafePointer(id) }
        if timeoutMilliseconds > 0 { po.MaxWait = timeoutMilliseconds }
        var pa: UnsafeMutablePointer<jsPubAck>?
        try jsCall("js_Publish \(subject)") { js_Publish(&pa, handle, subject, payload.baseAddress, Int32(payload.count), &po, $0) }
        defer { jsPubAck_Destroy(pa) }
        return PublishAck(stream: String(cString: pa!.pointee.Stream), sequence: pa!.pointee.Sequence, duplicate: pa!.pointee.Duplicate)
    }

    /// The same for bytes.
    @discardableResult
    public func publish(subject: String, payload: [UInt8], messageID: String? = nil,
                        timeoutMilliseconds: Int64 = 0) throws(NATSError) -> PublishAck {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, payload.count), alignment: 1)
        defer { copy.deallocate() }
        payload.withUnsafeBytes { copy.copyMemory(from: $0) }
        return try publish(subject: subject, payload: UnsafeRawBufferPointer(rebasing: copy[0..<payload.count]),
                           messageID: messageID, timeoutMilliseconds: timeoutMilliseconds)
    }

    // MARK: Consumers

    /// Binds to (creating when missing) the durable pull consumer `durable` of `stream` on
    /// `subject` (`js_PullSubscribe`), with explicit acks, redelivery after `ackWaitNanoseconds`
    /// and at most `maxAckPending` messages delivered and not acknowledged.
    public func pullSubscribe(stream: String, subject: String, durable: String,
                              ackWaitNanoseconds: Int64, maxAckPending: Int) throws(NATSError) -> PullSubscription {
        var so = jsSubOptions()
        try natsCall("jsSubOptions_Init") { jsSubOptions_Init(&so) }
        let cStream = strdup(stream), cSubject = strdup(subject)
        defer { free(cStream); free(cSubject) }
        so.Stream = UnsafePointer(cStream)
        so.Config.AckPolicy = js_AckExplicit
        so.Config.AckWait = ackWaitNanoseconds
        so.Config.MaxAckPending = Int64(maxAckPending)
        so.Config.FilterSubject = UnsafePointer(cSubject)
        so.Config.DeliverPolicy = js_DeliverAll
        var sub: OpaquePointer?
        try jsCall("js_PullSubscribe \(durable) on \(subject)") { js_PullSubscribe(&sub, handle, subject, durable, nil, &so, $0) }
        return PullSubscription(handle: sub!)
    }

    /// Where an ordered consumer starts.
    public enum DeliverFrom: Sendable, Equatable {
        /// The stream's first message.
        case all
        /// Only messages stored from now on.
        case new
        /// The first message stored at or after this time (nanoseconds since the Unix epoch).
        case time(Int64)
        /// The message with this stream sequence.
        case sequence(UInt64)
    }

    /// An ordered consumer of `stream` on `subject` (`js_SubscribeSync` with `Ordered`): every
    /// message in stream order, once, without acks; libnats recreates it after a gap or a
    /// server change. For readers of a whole stream (`vigil tail --nats`).
    public func orderedSubscribe(stream: String, subject: String, from start: DeliverFrom) throws(NATSError) -> Subscription {
        var so = jsSubOptions()
        try natsCall("jsSubOptions_Init") { jsSubOptions_Init(&so) }
        let cStream = strdup(stream)
        defer { free(cStream) }
        so.Stream = UnsafePointer(cStream)
        so.Ordered = true
        switch start {
        case .all: so.Config.DeliverPolicy = js_DeliverAll
        case .new: so.Config.DeliverPolicy = js_DeliverNew
        case .time(let t):
            so.Config.DeliverPolicy = js_DeliverByStartTime
            so.Config.OptStartTime = t
        case .sequence(let s):
            so.Config.DeliverPolicy = js_DeliverByStartSequence
            so.Config.OptStartSeq = s
        }
        var sub: OpaquePointer?
        try jsCall("js_SubscribeSync \(subject)") { js_SubscribeSync(&sub, handle, subject, nil, &so, $0) }
        return Subscription(handle: sub!)
    }

    /// What `consumerInfo` reports of a consumer.
    public struct ConsumerInfo: Sendable, Equatable {
        /// Stream sequence of the last message delivered and of the acknowledgement floor.
        public var deliveredStreamSequence: UInt64
        public var ackFloorStreamSequence: UInt64
        /// Messages delivered and not acknowledged yet.
        public var ackPending: Int64
        /// Messages not delivered yet.
        public var pending: UInt64
        public var redelivered: Int64
    }

    /// The state of consumer `name` of `stream` (`js_GetConsumerInfo`).
    public func consumerInfo(stream: String, name: String) throws(NATSError) -> ConsumerInfo {
        var ci: UnsafeMutablePointer<jsConsumerInfo>?
        try jsCall("js_GetConsumerInfo \(stream)/\(name)") { js_GetConsumerInfo(&ci, handle, stream, name, nil, $0) }
        defer { jsConsumerInfo_Destroy(ci) }
        let c = ci!.pointee
        return ConsumerInfo(deliveredStreamSequence: c.Delivered.Stream, ackFloorStreamSequence: c.AckFloor.Stream,
                            ackPending: c.NumAckPending, pending: c.NumPending, redelivered: c.NumRedelivered)
    }

    // MARK: Key-value

    /// The key-value bucket `bucket`, created when missing with `replicas` copies, keys expiring
    /// `ttlNanoseconds` after their last write (0: never), at most `history` revisions per key.
    public func keyValue(bucket: String, replicas: Int, ttlNanoseconds: Int64 = 0, history: Int = 1) throws(NATSError) -> KeyValueStore {
        var kv: OpaquePointer?
        do throws(NATSError) {
            try natsCall("js_KeyValue \(bucket)") { js_KeyValue(&kv, handle, bucket) }
            return KeyValueStore(handle: kv!)
        } catch where error.isNotFound {
            var cfg = kvConfig()
            try natsCall("kvConfig_Init") { kvConfig_Init(&cfg) }
            let cBucket = strdup(bucket)
            defer { free(cBucket) }
            cfg.Bucket = UnsafePointer(cBucket)
            cfg.Replicas = Int32(replicas)
            cfg.TTL = ttlNanoseconds
            cfg.History = UInt8(history)
            cfg.StorageType = js_FileStorage
            try natsCall("js_CreateKeyValue \(bucket)") { js_CreateKeyValue(&kv, handle, &cfg) }
            return KeyValueStore(handle: kv!)
        }
    }
}

/// A durable pull consumer's subscription. Owned by one thread (the one that fetches).
public final class PullSubscription: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { natsSubscription_Destroy(handle) }

    /// Up to `batch` messages, waiting at most `timeoutMilliseconds` for the first
    /// (`natsSubscription_Fetch`); empty on a timeout. Each message must be acknowledged
    /// (`NATSMessage.ack`) or it is redelivered after the consumer's ack wait.
    public func fetch(batch: Int, timeoutMilliseconds: Int64) throws(NATSError) -> [NATSMessage] {
        var list = natsMsgList()
        var code = jsErrCode(rawValue: 0)
        let s = natsSubscription_Fetch(&list, handle, Int32(batch), timeoutMilliseconds, &code)
        if s == NATS_TIMEOUT { return [] }
        if s != NATS_OK { throw NATSError.last("natsSubscription_Fetch", s, code) }
        var messages: [NATSMessage] = []
        messages.reserveCapacity(Int(list.Count))
        for i in 0..<Int(list.Count) {
            messages.append(NATSMessage(handle: list.Msgs[i]!))
            list.Msgs[i] = nil  // now owned by the NATSMessage
        }
        natsMsgList_Destroy(&list)
        return messages
    }
}

/// A synchronous subscription (an ordered consumer). Owned by one thread.
public final class Subscription: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { natsSubscription_Destroy(handle) }

    /// The next message, or nil after `timeoutMilliseconds` (`natsSubscription_NextMsg`).
    public func next(timeoutMilliseconds: Int64) throws(NATSError) -> NATSMessage? {
        var msg: OpaquePointer?
        let s = natsSubscription_NextMsg(&msg, handle, timeoutMilliseconds)
        if s == NATS_TIMEOUT { return nil }
        if s != NATS_OK { throw NATSError.last("natsSubscription_NextMsg", s) }
        return NATSMessage(handle: msg!)
    }
}

/// One received message (`natsMsg`), destroyed with this object. Acknowledge from any thread
/// (an ack is a publish on the thread-safe connection), but from one at a time.
public final class NATSMessage: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { natsMsg_Destroy(handle) }

    public var subject: String { String(cString: natsMsg_GetSubject(handle)) }

    /// Lends the payload's bytes (valid only inside `body`).
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let n = Int(natsMsg_GetDataLength(handle))
        return try body(UnsafeRawBufferPointer(start: natsMsg_GetData(handle), count: n))
    }

    /// The payload as bytes.
    public var payload: [UInt8] { withPayload { Array($0) } }

    /// The value of header `key`, nil when absent.
    public func header(_ key: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(handle, key, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }

    /// JetStream's metadata of a message delivered by a consumer.
    public struct Metadata: Sendable, Equatable {
        public var streamSequence: UInt64
        public var consumerSequence: UInt64
        /// 1 on first delivery, more on a redelivery.
        public var deliveries: UInt64
        /// When the stream stored it, nanoseconds since the Unix epoch.
        public var timestamp: Int64
    }

    /// The JetStream metadata (nil for a message that did not come from a consumer).
    public var metadata: Metadata? {
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        guard natsMsg_GetMetaData(&meta, handle) == NATS_OK, let meta else { return nil }
        defer { jsMsgMetaData_Destroy(meta) }
        let m = meta.pointee
        return Metadata(streamSequence: m.Sequence.Stream, consumerSequence: m.Sequence.Consumer,
                        deliveries: m.NumDelivered, timestamp: m.Timestamp)
    }

    /// Acknowledges the message (`natsMsg_Ack`: sent, not waited for).
    public func ack() throws(NATSError) {
        try natsCall("natsMsg_Ack") { natsMsg_Ack(handle, nil) }
    }

    /// Acknowledges and waits for the server to confirm (`natsMsg_AckSync`).
    public func ackSync() throws(NATSError) {
        try jsCall("natsMsg_AckSync") { natsMsg_AckSync(handle, nil, $0) }
    }
}
