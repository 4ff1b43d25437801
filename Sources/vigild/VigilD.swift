// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilDaemon

/// `vigild`: the daemon. Runs until SIGINT or SIGTERM, then drains and exits 0;
/// SIGHUP reloads the detector settings from the config file.
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
            FileHandle.standardError.write(Data("vigild: refusing to start: \(path) is invalid:\n\(error)\n".utf8))
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
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode.failure
        }
        logger.info("configuration \(path)")
        daemon.runUntilSignalled(environment: environment) {
            do {
                let fresh = try VigilConfiguration.load(path: path)
                if DaemonOptions(configuration: fresh).ingestEndpoints != configuration.ingest.endpoints
                    || fresh.publish != configuration.publish || fresh.history != configuration.history
                    || fresh.pipeline != configuration.pipeline {
                    logger.warning("endpoint and pipeline changes take effect at the next restart; detector settings reload now")
                }
                return { fresh.detectorSettings(forSensor: $0) }
            } catch {
                logger.error("reload refused, keeping the running configuration: \(error)")
                return nil
            }
        }
        // Everything is drained and written: exit without tearing down the detector state (for
        // 100,000 sensors, freeing it one array at a time takes longer than writing it).
        Foundation.exit(0)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
