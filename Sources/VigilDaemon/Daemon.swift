// SPDX-License-Identifier: GPL-3.0-or-later
import FFT
import Logging
import Synchronization
import VigilConfig
import VigilCore
import VigilDetectors
import VigilPipeline
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// The one module that wires everything: ingest → pipeline → publish, the journal and its
/// history endpoint, metrics and health, checkpoints, systemd notification, signals and the
/// graceful drain.
///
/// Every long-running part is a `Stage`, and one `StageGroup` owns their order. Start order:
/// history, retention, metrics, checkpointer, publisher, workers, and ingest last (so nothing is
/// accepted before it can be processed). Stop order is the reverse, each stage drained before the
/// next is asked: ingest reads what senders queued and stops, the workers drain their rings, the
/// publisher journals and publishes every alert they emitted, the checkpointer writes the
/// stopped state — before anything slow — then metrics, retention and history stop, and the
/// ZeroMQ context is terminated.
///
/// Before the stages start, detector state is restored from the last checkpoint and reconciled
/// with the journal (see `restoreDetectorState` and `reconcileWithJournal`).
///
/// The systemd watchdog is pinged only while every stage's threads show progress
/// (`StageWatchdog` over their `Heartbeat`s); a stalled thread is named in the log, `/healthz`
/// answers 503, and the pings stop, so systemd restarts the daemon.
///
/// Threading: `init`, `start`, `stop`, `runUntilSignalled` and `watchdogTick` from one thread
/// (the main thread); the statistics from any.
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

    let options: DaemonOptions
    let logger: Logger
    private let context: ZMQContext
    public let pipeline: Pipeline
    private let metrics: DaemonMetrics
    /// CURVE authentication (ZAP handler and socket settings); nil without `security.curve`.
    private let auth: CurveAuthenticator?
    private let ingest: IngestService
    let publisher: AlertPublisher
    private let history: HistoryServer
    private let retention: JournalRetention?
    private var metricsServer: MetricsServer?
    private let checkpointer: Checkpointer
    private let group: StageGroup
    let notifier: SystemdNotifier
    /// NATS JetStream (config `nats`): the cluster, the share's leases, the alert stream and the
    /// checkpoints in JetStream; all nil without.
    let natsCluster: NATSCluster?
    let leases: PartitionLeases?
    let alertSink: AlertStreamSink?
    let checkpointStore: NATSCheckpointStore?
    private let watchdogInterval: UInt64?
    private let watchdog: StageWatchdog
    private var reportedStalls: Set<String> = []
    private var running = false

    public init(options: DaemonOptions, logger: Logger, environment: [String: String] = [:]) throws {
        self.options = options
        self.logger = logger
        notifier = SystemdNotifier(environment: environment)
        context = try ZMQContext(ioThreads: 1)
        let metrics = DaemonMetrics(authEndpoints: options.curve == nil ? [] : options.boundEndpoints,
                                    natsPartitions: options.nats?.ownedPartitions.sorted() ?? [], mqtt: !options.mqtt.isEmpty)
        self.metrics = metrics
        if let curve = options.curve {
            auth = try CurveAuthenticator(curve: curve, metrics: metrics, logger: logger)
        } else {
            auth = nil
        }
        let registry = SensorRegistry(limit: options.maxSensors)
        pipeline = Pipeline(configuration: options.pipeline, registry: registry, drops: DropCounters(),
                            settings: options.settings, assetOf: options.assetOf, pcaSettings: options.pcaSettings,
                            relations: options.relations)
        // The JetStream context exists only after `joinCluster` connected: the sink, the checkpoint
        // store and the sample source reach it through the cluster.
        let cluster = options.nats.map { NATSCluster(settings: $0, stateDirectory: options.stateDirectory, logger: logger) }
        let clusterLeases = cluster.map { PartitionLeases(cluster: $0, logger: logger) }
        let sink = cluster.map { AlertStreamSink(cluster: $0) }
        natsCluster = cluster
        leases = clusterLeases
        alertSink = sink
        checkpointStore = cluster.map { NATSCheckpointStore(cluster: $0, sink: sink, logger: logger) }
        ingest = IngestService(options: options, pipeline: pipeline, metrics: metrics, auth: auth, logger: logger,
                               nats: cluster.map { NATSSampleSource(cluster: $0, leases: clusterLeases, logger: logger) })
        publisher = AlertPublisher(options: options, pipeline: pipeline, metrics: metrics, auth: auth, logger: logger)
        history = HistoryServer(options: options, auth: auth, logger: logger)
        retention = options.journalRetention > .zero ? JournalRetention(options: options, metrics: metrics, logger: logger) : nil
        checkpointer = Checkpointer(options: options, pipeline: pipeline, metrics: metrics, logger: logger,
                                    path: options.stateDirectory + "/detectors.snapshot")
        if let listen = options.metricsListen {
            let m = metrics
            let p = pipeline
            metricsServer = MetricsServer(address: listen, logger: logger) { path in
                switch path {
                case "/metrics": return (200, "text/plain; version=0.0.4; charset=utf-8", m.render(pipeline: p))
                case "/healthz":
                    let stalls = m.stalledStages
                    if stalls.isEmpty { return (200, "text/plain", "ok\n") }
                    return (503, "text/plain", "stalled: " + stalls.map { "\($0.name) (\($0.duration))" }.joined(separator: ", ") + "\n")
                case "/readyz":
                    if m.isReady { return (200, "text/plain", "ready\n") }
                    let why = !m.journalWritable.load(ordering: .acquiring) ? "journal not writable, alerts held" : "not ready"
                    return (503, "text/plain", why + "\n")
                default: return (404, "text/plain", "not found: try /metrics, /healthz or /readyz\n")
                }
            }
        }
        var stages: [any Stage] = []
        if let auth { stages.append(auth) }
        // The leases are released last but for the ZAP handler: after the final checkpoint is in
        // JetStream, so a standby that takes over resumes from it.
        if let leases { stages.append(leases) }
        stages.append(history)
        if let retention { stages.append(retention) }
        if let metricsServer { stages.append(metricsServer) }
        stages += [checkpointer, publisher, pipeline, ingest]
        group = StageGroup(stages)
        watchdogInterval = SystemdNotifier.watchdogMicroseconds(environment: environment)
        let stallLimit = options.stallLimit
            ?? watchdogInterval.map { .microseconds(max(Int64($0 / 2), 3_000_000)) }
            ?? .seconds(10)
        watchdog = StageWatchdog(heartbeats: group.heartbeats, stallLimit: stallLimit)
    }

    /// Opens every socket and file, restores detector state and starts every stage. Throws (and
    /// starts nothing that keeps running) when an endpoint cannot be bound or the state directory
    /// is unusable, and with code `.security` when `security.curve` cannot be enforced.
    ///
    /// With CURVE, the ZAP handler is bound first and its thread started before any other (it is
    /// the group's first stage, so it also stops last), so no server socket ever exists without
    /// it (libzmq would admit every CURVE client then).
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
            let alertStreamMark = try joinCluster()
            let restored = restoreDetectorState()
            try auth?.open(context: context)
            // With NATS the checkpoint may come from another daemon, whose seqs are not this journal's.
            try publisher.open(context: context, minimumSeq: natsCluster == nil ? restored?.journalSeq ?? 0 : 0)
            pipeline.setJournaledSeq(publisher.lastSeq)
            if natsCluster != nil {
                reconcileWithAlertStream(after: restored == nil ? 0 : alertStreamMark)
            } else {
                reconcileWithJournal(after: restored?.coveredSeq ?? 0)
            }
            try history.open(context: context)
            try retention?.open()
            try metricsServer?.open()
            try ingest.bind(context: context)
        } catch let error as StartError {
            abandonStart()
            throw error
        } catch {
            abandonStart()
            throw StartError(description: "\(error)")
        }
        group.start()
        running = true
        metrics.ready.store(true, ordering: .releasing)
        logger.info("vigild ready", metadata: [
            "ingest": "\(options.ingestEndpoints.joined(separator: ","))",
            "publish": "\(options.publishEndpoint)",
            "history": "\(options.historyEndpoint)",
            "metrics": "\(options.metricsListen ?? "off")",
            "workers": "\(options.pipeline.workers)",
            "checkpoint_interval": "\(options.checkpointInterval)",
            "next_seq": "\(publisher.lastSeq + 1)",
            "nats": "\(natsCluster.map { "partitions \($0.shareKey) of \($0.settings.ingestStream) (\($0.settings.partitions)), alerts to \($0.settings.alertStream)" } ?? "off")",
            "mqtt": "\(options.mqtt.map(\.url).joined(separator: ",").isEmpty ? "off" : options.mqtt.map(\.url).joined(separator: ","))",
            "curve": "\(auth.map { "on, public key \($0.publicKey), \(options.curve!.authorizedKeys.count) authorized keys" } ?? "off")",
        ])
        if let auth, auth.authorizedKeys.isEmpty {
            logger.warning("security.curve: \(options.curve!.authorizedKeysFile) lists no key: every client is refused until keys are added (SIGHUP re-reads it)")
        }
        notifier.notify("READY=1\nSTATUS=running: ingest \(options.ingestEndpoints.joined(separator: ","))")
    }

    /// Undoes what a failed `start` began: the ZeroMQ context, the leases (released), NATS.
    private func abandonStart() {
        context.shutdown()
        leases?.requestStop()
        leases?.join()
        natsCluster?.close()
    }

    /// Stops every stage in reverse start order (ingest drains its sockets, the workers their
    /// rings, the publisher the alerts, then the stopped state is written), and closes
    /// everything. Idempotent.
    public func stop() {
        guard running else { return }
        running = false
        metrics.draining.store(true, ordering: .releasing)
        notifier.notify("STOPPING=1\nSTATUS=draining")
        logger.info("draining")
        group.stop { stage, took in
            logger.debug("stopped \(stage) in \(took)")
        }
        context.shutdown()
        natsCluster?.close()
        do {
            try FFTWisdom.save(wisdomPath)
            _ = chmod(wisdomPath, 0o640)
        } catch { logger.warning("\(error)") }
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

    /// Checks every stage's heartbeat; pings the systemd watchdog only when all of them moved
    /// within the stall limit. A thread that stalls is logged once (and again when it recovers),
    /// reported by `/healthz` (503) and `vigil_stage_stalled`, and the pings stop, so systemd
    /// restarts the daemon after `WatchdogSec`. Returns the stalled threads. Main thread.
    @discardableResult
    public func watchdogTick() -> [StageWatchdog.Stall] {
        let stalls = watchdog.check()
        metrics.setStalls(stalls)
        let names = Set(stalls.map(\.name))
        for stall in stalls where !reportedStalls.contains(stall.name) {
            logger.critical("stage thread \(stall.name) has made no progress for \(stall.duration): \(watchdogInterval != nil ? "withholding the systemd watchdog ping, systemd will restart vigild" : "/healthz answers 503")")
        }
        for name in reportedStalls.subtracting(names) {
            logger.notice("stage thread \(name) is making progress again")
        }
        reportedStalls = names
        if watchdogInterval != nil {
            if stalls.isEmpty {
                notifier.notify("WATCHDOG=1")
            } else {
                notifier.notify("STATUS=stalled: " + stalls.map(\.name).joined(separator: ", "))
            }
        }
        return stalls
    }

    /// Blocks until SIGINT or SIGTERM, reloading on SIGHUP through `reloadSettings` and checking
    /// the stages (`watchdogTick`) at half the watchdog interval (every second without one).
    /// Call `Daemon.blockSignals()` before creating any thread.
    public func runUntilSignalled(environment: [String: String],
                                  reloadSettings: () -> (settings: SettingsResolver, pca: PCASettingsResolver?)?) {
        var set = Daemon.handledSignals()
        let tick = watchdogInterval.map { min(max($0 / 2, 100_000), 1_000_000) } ?? 1_000_000
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
            watchdogTick()
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
    public var snapshotPath: String { checkpointer.path }

    /// FFTW wisdom cached in the state directory across restarts.
    private var wisdomPath: String { options.stateDirectory + "/fftw.wisdom" }

    /// Total samples processed so far (for tools and tests).
    public var samplesProcessed: UInt64 { pipeline.samplesProcessed }

    /// The checkpointer's stage (for tests that drive checkpoints).
    var checkpoints: Checkpointer { checkpointer }
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
