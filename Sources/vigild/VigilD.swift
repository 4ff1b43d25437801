// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilDaemon

/// `vigild`: the daemon. Runs until SIGINT or SIGTERM, then drains and exits 0;
/// SIGHUP reloads the detector settings and the CURVE authorized keys from the config file.
/// Exit 78 (`EX_CONFIG`) for an invalid configuration and for CURVE security that is configured
/// but cannot be enforced (fail closed), 1 for other start-up failures.
@main
struct VigilD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigild",
        abstract: "Vigil anomaly detection daemon: ZeroMQ in, detectors, alerts out.")

    @Option(help: "Configuration file (default: Configs/vigil.yaml when present, else /etc/vigil/vigil.yaml).")
    var config: String?

    @Option(help: "Override the configured log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level?

    func run() throws {
        Daemon.blockSignals()  // before any thread exists, so signals reach runUntilSignalled
        let path = config ?? (FileManager.default.fileExists(atPath: "Configs/vigil.yaml") ? "Configs/vigil.yaml" : "/etc/vigil/vigil.yaml")
        let configuration: VigilConfiguration
        do {
            configuration = try VigilConfiguration.load(path: path)
        } catch {
            // One problem, one line (it names the file, line and key); several follow a header.
            let text = error.problems.count == 1 ? "vigild: refusing to start: \(error)\n"
                : "vigild: refusing to start: \(path) is invalid:\n\(error)\n"
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        let level = logLevel ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vigild")
        let environment = ProcessInfo.processInfo.environment
        let daemon: Daemon
        do {
            daemon = try Daemon(options: DaemonOptions(configuration: configuration), logger: logger, environment: environment)
            try daemon.start()
        } catch let error as Daemon.StartError where error.code == .security {
            logger.critical("refusing to start: \(error)")
            throw ExitCode(78)  // fail closed, like a configuration error
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode.failure
        }
        logger.info("configuration \(path)")
        daemon.runUntilSignalled(environment: environment) {
            do {
                let fresh = try VigilConfiguration.load(path: path)
                if DaemonOptions(configuration: fresh).ingestEndpoints != configuration.ingest.endpoints
                    || fresh.ingest.subscribe != configuration.ingest.subscribe
                    || fresh.publish != configuration.publish || fresh.history != configuration.history
                    || fresh.pipeline != configuration.pipeline {
                    logger.warning("endpoint and pipeline changes take effect at the next restart; detector settings reload now")
                }
                switch (configuration.security.curve, fresh.security.curve) {
                case (let running?, let new?):
                    if new.secretKey != running.secretKey || new.secretKeyFile != running.secretKeyFile {
                        logger.warning("security.curve: the daemon's own key pair is not reloaded; it keeps the key from \(running.secretKeyFile) until the next restart")
                    }
                    daemon.replaceAuthorizedKeys(new.authorizedKeys, from: new.authorizedKeysFile)
                case (nil, nil):
                    break
                case (_?, nil):
                    logger.warning("security.curve was removed: CURVE stays on, with the authorized keys already loaded, until the next restart")
                case (nil, _?):
                    logger.warning("security.curve was added: it takes effect at the next restart (the sockets are bound without CURVE)")
                }
                return ({ fresh.detectorSettings(forSensor: $0) }, { fresh.pcaSettings(forAsset: $0) })
            } catch {
                logger.error("reload refused, keeping the running configuration (detector settings and authorized keys): \(error)")
                return nil
            }
        }
        // Everything is drained and written: exit without tearing down the detector state (for
        // 100,000 sensors, freeing it one array at a time takes longer than writing it).
        Foundation.exit(0)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
