// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import NATS
import VigilConfig
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Detector checkpoints of a share in the `<ingest_stream>_checkpoints` key-value bucket, so a
/// standby — or a restart on another machine — resumes from the state the failed daemon last
/// checkpointed.
///
/// Each committed checkpoint file (the same format-2 bytes as `detectors.snapshot`) is stored as
/// parts of at most 256 KiB under `share.<share>.<generation>.<i>`, then the manifest
/// `share.<share>` names the generation, the part count, the length, a 64-bit FNV-1a checksum,
/// the alert stream sequence read when the checkpoint began, and the writer; the previous
/// generation's parts are deleted after. A reader sees either the old manifest with its parts or
/// the new one with its parts.
///
/// Threading: `upload` on the checkpoint thread; `download` on the starting thread.
final class NATSCheckpointStore: @unchecked Sendable {
    private let cluster: NATSCluster
    private let logger: Logger
    /// Where alert sequences come from (the publisher's alert stream sink).
    private let sink: AlertStreamSink?
    static let partBytes = 256 << 10

    init(cluster: NATSCluster, sink: AlertStreamSink?, logger: Logger) {
        self.cluster = cluster
        self.sink = sink
        self.logger = logger
    }

    private var store: KeyValueStore { cluster.checkpoints! }
    private var manifestKey: String { "share.\(cluster.shareKey)" }

    /// The alert stream sequence of the last event this daemon stored.
    func alertStreamMark() -> UInt64 { sink?.lastSequence ?? 0 }

    /// What a manifest says.
    struct Manifest: Equatable {
        var generation: UInt64
        var parts: Int
        var bytes: Int
        var checksum: UInt64
        var alertStreamSeq: UInt64
        var writer: String

        var text: String {
            "vigil-checkpoint 1\ngeneration \(generation)\nparts \(parts)\nbytes \(bytes)\nchecksum \(checksum)\nalert_stream_seq \(alertStreamSeq)\nwriter \(writer)\n"
        }

        init(generation: UInt64, parts: Int, bytes: Int, checksum: UInt64, alertStreamSeq: UInt64, writer: String) {
            self.generation = generation
            self.parts = parts
            self.bytes = bytes
            self.checksum = checksum
            self.alertStreamSeq = alertStreamSeq
            self.writer = writer
        }

        init?(_ text: String) {
            var fields: [String: String] = [:]
            let lines = text.split(separator: "\n")
            guard lines.first == "vigil-checkpoint 1" else { return nil }
            for line in lines.dropFirst() {
                guard let space = line.firstIndex(of: " ") else { return nil }
                fields[String(line[..<space])] = String(line[line.index(after: space)...])
            }
            guard let g = fields["generation"].flatMap(UInt64.init), let p = fields["parts"].flatMap(Int.init),
                  let b = fields["bytes"].flatMap(Int.init), let c = fields["checksum"].flatMap(UInt64.init),
                  let a = fields["alert_stream_seq"].flatMap(UInt64.init) else { return nil }
            self.init(generation: g, parts: p, bytes: b, checksum: c, alertStreamSeq: a, writer: fields["writer"] ?? "")
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    private func partKey(_ generation: UInt64, _ i: Int) -> String { "\(manifestKey).\(generation).\(i)" }

    /// Stores the committed checkpoint at `path`. Failures are logged: the local file stands, and
    /// a standby would resume from the previous checkpoint in the bucket.
    func upload(path: String, alertStreamMark: UInt64) {
        do {
            let bytes = try readFile(path)
            let previous = try store.get(manifestKey).flatMap { Manifest(String(decoding: $0.value, as: UTF8.self)) }
            let generation = (previous?.generation ?? 0) &+ 1
            var parts = 0
            var offset = 0
            repeat {
                let end = min(bytes.count, offset + Self.partBytes)
                try store.put(partKey(generation, parts), Array(bytes[offset..<end]))
                parts += 1
                offset = end
            } while offset < bytes.count
            let manifest = Manifest(generation: generation, parts: parts, bytes: bytes.count, checksum: Self.checksum(bytes),
                                    alertStreamSeq: alertStreamMark, writer: cluster.ownerID)
            try store.put(manifestKey, Array(manifest.text.utf8))
            if let previous {
                for i in 0..<previous.parts { try? store.delete(partKey(previous.generation, i)) }
            }
            logger.debug("checkpoint stored in JetStream", metadata: ["key": "\(manifestKey)", "generation": "\(generation)", "bytes": "\(bytes.count)"])
        } catch {
            logger.warning("cannot store the checkpoint in JetStream (\(manifestKey)): \(error); a standby would resume from the previous one")
        }
    }

    /// Writes the share's checkpoint from the bucket to `path` (replacing the local file) and
    /// returns its manifest; nil (leaving `path` as it is) when the bucket has none. Throws when
    /// the bucket cannot be read or the stored checkpoint is damaged.
    func download(to path: String) throws -> Manifest? {
        guard let entry = try store.get(manifestKey) else { return nil }
        guard let manifest = Manifest(String(decoding: entry.value, as: UTF8.self)) else {
            throw Daemon.StartError(description: "the JetStream checkpoint manifest \(manifestKey) is unreadable")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(manifest.bytes)
        for i in 0..<manifest.parts {
            guard let part = try store.get(partKey(manifest.generation, i)) else {
                throw Daemon.StartError(description: "part \(i) of the JetStream checkpoint \(manifestKey) generation \(manifest.generation) is missing")
            }
            bytes += part.value
        }
        guard bytes.count == manifest.bytes, Self.checksum(bytes) == manifest.checksum else {
            throw Daemon.StartError(description: "the JetStream checkpoint \(manifestKey) generation \(manifest.generation) does not match its length or checksum")
        }
        try writeFileAtomically(path, bytes)
        return manifest
    }
}
