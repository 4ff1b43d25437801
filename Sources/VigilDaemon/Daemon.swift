// SPDX-License-Identifier: GPL-3.0-or-later
import FFT
import Logging
import Synchronization
import VigilCore
import VigilDetectors
import VigilPipeline
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// The one module that wires everything: ingest → pipeline → publish, the journal and its
/// history endpoint, metrics and health, systemd notification, signals and the graceful drain.
///
/// Start order: journal and PUB socket, history, metrics, pipeline workers, publisher, and
/// ingest last (so nothing is accepted before it can be processed). Stop order is the reverse:
/// ingest stops reading, workers drain their rings, the publisher journals and publishes every
/// alert they emitted, then the servers close.
public final class Daemon: @unchecked Sendable {
    /// Why the daemon cannot start.
    public struct StartError: Error, CustomStringConvertible {
        /// What kind of failure; a struct around a private enum so new kinds can be added.
        public struct Code: Sendable, Hashable, CustomStringConvertible {
            private enum Value: String, Sendable, Hashable { case startup, security }
            private let value: Value
            private init(_ value: Value) { self.value = value }
            /// An endpoint cannot be bound, the state directory is unusable, …
            public static let startup = Code(.startup)
            /// `security.curve` is configured but cannot be enforced (no CURVE in libzmq, a key
            /// libzmq refuses, a socket that would not take it): fail closed, like a config error.
            public static let security = Code(.security)
            public var description: String { value.rawValue }
        }

        /// What kind of failure.
        public var code: Code
        /// One line saying why.
        public var description: String

        /// A failure of kind `code` (`.startup` unless said otherwise).
        public init(description: String, code: Code = .startup) {
            self.description = description
            self.code = code
        }
    }

    private let options: DaemonOptions
    private let logger: Logger
    private let context: ZMQContext
    public let pipeline: Pipeline
    private let metrics: DaemonMetrics
    /// CURVE authentication (ZAP handler and socket settings); nil without `security.curve`.
    private let auth: CurveAuthenticator?
    private let ingest: IngestService
    private let publisher: AlertPublisher
    private let history: HistoryServer
    private let retention: JournalRetention?
    private var metricsServer: MetricsServer?
    private let notifier: SystemdNotifier
    private var running = false

    public init(options: DaemonOptions, logger: Logger, environment: [String: String] = [:]) throws {
        self.options = options
        self.logger = logger
        notifier = SystemdNotifier(environment: environment)
        context = try ZMQContext(ioThreads: 1)
        let metrics = DaemonMetrics(authEndpoints: options.curve == nil ? [] : options.boundEndpoints)
        self.metrics = metrics
        if let curve = options.curve {
            auth = try CurveAuthenticator(curve: curve, metrics: metrics, logger: logger)
        } else {
            auth = nil
        }
        let registry = SensorRegistry(limit: options.maxSensors)
        pipeline = Pipeline(configuration: options.pipeline, registry: registry, drops: DropCounters(),
                            settings: options.settings, assetOf: options.assetOf, pcaSettings: options.pcaSettings)
        ingest = IngestService(options: options, pipeline: pipeline, metrics: metrics, auth: auth, logger: logger)
        publisher = AlertPublisher(options: options, pipeline: pipeline, metrics: metrics, auth: auth, logger: logger)
        history = HistoryServer(options: options, auth: auth, logger: logger)
        retention = options.journalRetention > .zero ? JournalRetention(options: options, metrics: metrics, logger: logger) : nil
        if let listen = options.metricsListen {
            let m = metrics
            let p = pipeline
            metricsServer = MetricsServer(address: listen, logger: logger) { path in
                switch path {
                case "/metrics": return (200, "text/plain; version=0.0.4; charset=utf-8", m.render(pipeline: p))
                case "/healthz": return (200, "text/plain", "ok\n")
                case "/readyz":
                    if m.isReady { return (200, "text/plain", "ready\n") }
                    let why = !m.journalWritable.load(ordering: .acquiring) ? "journal not writable, alerts held" : "not ready"
                    return (503, "text/plain", why + "\n")
                default: return (404, "text/plain", "not found: try /metrics, /healthz or /readyz\n")
                }
            }
        }
    }

    /// Opens every socket and file and starts every thread. Throws (and starts nothing that
    /// keeps running) when an endpoint cannot be bound or the state directory is unusable, and
    /// with code `.security` when `security.curve` cannot be enforced.
    ///
    /// With CURVE, the ZAP handler is bound first and its thread started before any other, so
    /// no server socket ever exists without it (libzmq would admit every CURVE client then).
    public func start() throws {
        do {
            try makeDirectory(options.stateDirectory)
            if let mode = wideMode(options.stateDirectory) {
                // Not changed here: the directory may be shared (`.` or /tmp); the journal in it
                // is 0600 whatever the directory's mode.
                logger.warning("state directory \(options.stateDirectory) is mode 0\(String(mode, radix: 8)), wider than 0750: other users may list it; narrow it with chmod 750")
            }
            // FFTW plans measured by earlier runs (missing on the first start: not an error).
            if access(wisdomPath, R_OK) == 0 {
                do { try FFTWisdom.load(wisdomPath) } catch { logger.warning("\(error); planning afresh") }
            }
            restoreDetectorState()
            try auth?.open(context: context)
            try publisher.open(context: context)
            try history.open(context: context)
            try retention?.open()
            try metricsServer?.open()
            try ingest.bind(context: context)
        } catch let error as StartError {
            context.shutdown()
            throw error
        } catch {
            context.shutdown()
            throw StartError(description: "\(error)")
        }
        auth?.start()
        history.start()
        retention?.start()
        metricsServer?.start()
        pipeline.start()
        publisher.start()
        ingest.start()
        running = true
        metrics.ready.store(true, ordering: .releasing)
        logger.info("vigild ready", metadata: [
            "ingest": "\(options.ingestEndpoints.joined(separator: ","))",
            "publish": "\(options.publishEndpoint)",
            "history": "\(options.historyEndpoint)",
            "metrics": "\(options.metricsListen ?? "off")",
            "workers": "\(options.pipeline.workers)",
            "next_seq": "\(publisher.lastSeq + 1)",
            "curve": "\(auth.map { "on, public key \($0.publicKey), \(options.curve!.authorizedKeys.count) authorized keys" } ?? "off")",
        ])
        if let auth, auth.authorizedKeys.isEmpty {
            logger.warning("security.curve: \(options.curve!.authorizedKeysFile) lists no key: every client is refused until keys are added (SIGHUP re-reads it)")
        }
        notifier.notify("READY=1\nSTATUS=running: ingest \(options.ingestEndpoints.joined(separator: ","))")
    }

    /// Stops reading, drains every queued sample and alert, and closes everything. Idempotent.
    public func stop() {
        guard running else { return }
        running = false
        metrics.draining.store(true, ordering: .releasing)
        notifier.notify("STOPPING=1\nSTATUS=draining")
        logger.info("draining")
        publisher.requestStop()
        retention?.stop()
        ingest.stop()
        ingest.join()
        pipeline.finishIngest()
        pipeline.join()
        publisher.join()
        history.stop()
        history.join()
        // Every server socket is closed now: the ZAP handler is no longer needed.
        auth?.stop()
        auth?.join()
        retention?.join()
        metricsServer?.stop()
        metricsServer?.join()
        context.shutdown()
        do {
            try FFTWisdom.save(wisdomPath)
            _ = chmod(wisdomPath, 0o640)
        } catch { logger.warning("\(error)") }
        saveDetectorState()
        logger.info("stopped", metadata: [
            "received": "\(pipeline.samplesSubmitted)",
            "samples": "\(pipeline.samplesProcessed)",
            "alerts": "\(pipeline.alertEventsEmitted)",
            "last_seq": "\(publisher.lastSeq)",
        ])
    }

    /// Applies new detector settings without losing detector state of unchanged sensors and
    /// assets. Endpoint and pipeline changes need a restart.
    public func reload(settings: @escaping SettingsResolver, pcaSettings: PCASettingsResolver? = nil) {
        notifier.notify("RELOADING=1")
        pipeline.reload(settings: settings, pcaSettings: pcaSettings)
        notifier.notify("READY=1\nSTATUS=running (reloaded)")
        logger.info("configuration reloaded")
    }

    /// Replaces the client keys CURVE authentication admits (SIGHUP re-reads
    /// `security.curve.authorized_keys_file`); connections already admitted stay open. The
    /// daemon's own key pair is never reloaded. Returns false (and changes nothing) when the
    /// daemon runs without CURVE. Any thread.
    @discardableResult
    public func replaceAuthorizedKeys(_ keys: [CurveKey], from file: String) -> Bool {
        guard let auth else { return false }
        auth.replaceAuthorizedKeys(keys, from: file)
        return true
    }

    /// Blocks until SIGINT or SIGTERM, reloading on SIGHUP through `reloadSettings` and pinging
    /// the systemd watchdog. Call `Daemon.blockSignals()` before creating any thread.
    public func runUntilSignalled(environment: [String: String],
                                  reloadSettings: () -> (settings: SettingsResolver, pca: PCASettingsResolver?)?) {
        var set = Daemon.handledSignals()
        let watchdog = SystemdNotifier.watchdogMicroseconds(environment: environment)
        let tick = watchdog.map { max($0 / 2, 100_000) } ?? 1_000_000
        var timeout = timespec(tv_sec: Int(tick / 1_000_000), tv_nsec: Int(tick % 1_000_000) * 1000)
        while true {
            let sig = sigtimedwait(&set, nil, &timeout)
            if sig == SIGINT || sig == SIGTERM {
                logger.info("received \(sig == SIGINT ? "SIGINT" : "SIGTERM")")
                break
            }
            if sig == SIGHUP {
                if let fresh = reloadSettings() { reload(settings: fresh.settings, pcaSettings: fresh.pca) }
                continue
            }
            if watchdog != nil { notifier.notify("WATCHDOG=1") }
        }
        stop()
    }

    static func handledSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        return set
    }

    /// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it creates
    /// afterwards, so that `runUntilSignalled` receives them synchronously. Call first in `main`.
    /// SIGPIPE and SIGXFSZ are ignored: a closed peer or a file-size limit (`RLIMIT_FSIZE`) then
    /// fails the write with EPIPE or EFBIG, which the caller handles (the journal like a full
    /// disk: the batch is held and retried), instead of killing the daemon.
    public static func blockSignals() {
        var set = handledSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    /// Detector state kept in the state directory across restarts (`DetectorSnapshot`).
    public var snapshotPath: String { options.stateDirectory + "/detectors.snapshot" }

    /// Restores `detectors.snapshot` into the pipeline before it starts, if present. A file that
    /// cannot be read or restored (corrupt, truncated, another version) is logged as a warning and
    /// renamed to `detectors.snapshot.bad`, and the daemon starts fresh: it never refuses to start
    /// for that. Called from `start()` on the starting thread, before any pipeline thread exists.
    private func restoreDetectorState() {
        let path = snapshotPath
        guard access(path, F_OK) == 0 else { return }
        do {
            let bytes = try readFile(path)
            let summary = try pipeline.restore(bytes)
            logger.info("restored detector state", metadata: [
                "sensors": "\(summary.sensorsRestored)",
                "sensors_settings_changed": "\(summary.sensorsSkipped)",
                "assets": "\(summary.assetsRestored)",
                "assets_changed": "\(summary.assetsSkipped)",
                "path": "\(path)",
            ])
        } catch {
            let aside = path + ".bad"
            let moved = rename(path, aside) == 0
            logger.warning("cannot restore detector state: \(error); \(moved ? "moved it to \(aside)" : "could not move it aside"); starting fresh")
        }
    }

    /// Writes the pipeline's detector state to `detectors.snapshot` atomically (temporary file,
    /// fsync, rename, fsync of the directory) after the pipeline drained. Failures are logged.
    private func saveDetectorState() {
        let bytes = pipeline.snapshot()
        do {
            try writeFileAtomically(snapshotPath, bytes)
            logger.info("saved detector state", metadata: [
                "sensors": "\(pipeline.snapshotSensorCount)", "bytes": "\(bytes.count)", "path": "\(snapshotPath)",
            ])
        } catch {
            logger.warning("cannot save detector state: \(error)")
        }
    }

    /// FFTW wisdom cached in the state directory across restarts.
    private var wisdomPath: String { options.stateDirectory + "/fftw.wisdom" }

    /// Total samples processed so far (for tools and tests).
    public var samplesProcessed: UInt64 { pipeline.samplesProcessed }
}

private func makeDirectory(_ path: String) throws {
    var st = stat()
    if stat(path, &st) == 0 {
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw Daemon.StartError(description: "state directory \(path) exists and is not a directory")
        }
        return
    }
    // Create parents one by one, mode 0750 (less any umask bits).
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part
        if stat(prefix, &st) != 0, mkdir(prefix, 0o750) != 0, errno != EEXIST {
            throw Daemon.StartError(description: "cannot create state directory \(prefix): \(String(cString: strerror(errno)))")
        }
        prefix += "/"
    }
}

/// The mode of `path` when it grants more than 0750 (the state directory holds the journal and
/// detector state), nil otherwise or when it cannot be read.
private func wideMode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    let mode = st.st_mode & 0o7777
    return mode & ~0o750 != 0 ? mode : nil
}

/// A failed file operation on the state directory: the call, the path and `strerror(errno)`.
public struct StateFileError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var reason: String

    init(_ operation: String, _ path: String) {
        self.operation = operation
        self.path = path
        reason = String(cString: strerror(errno))
    }

    public var description: String { "\(operation) \(path): \(reason)" }
}

/// The whole file at `path`.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StateFileError("open", path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw StateFileError("read", path)
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file: writes
/// `path.tmp`, fsyncs it, renames it over `path` and fsyncs the directory.
func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
    guard fd >= 0 else { throw StateFileError("open", tmp) }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            let e = StateFileError("write", tmp)
            close(fd)
            unlink(tmp)
            throw e
        }
        written += n
    }
    guard fsync(fd) == 0 else {
        let e = StateFileError("fsync", tmp)
        close(fd)
        unlink(tmp)
        throw e
    }
    close(fd)
    guard rename(tmp, path) == 0 else {
        let e = StateFileError("rename", tmp)
        unlink(tmp)
        throw e
    }
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
        _ = fsync(dfd)
        close(dfd)
    }
}
