// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors

/// The problems `yaml` has, or an empty list when it is valid.
func problems(_ yaml: String, file: String = "test.yaml") -> [ConfigProblem] {
    do {
        _ = try VigilConfiguration.parse(yaml: yaml, file: file)
        return []
    } catch {
        return error.problems
    }
}

/// Parses `yaml`, failing the test with the problems when it is invalid.
func parse(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> VigilConfiguration {
    do {
        return try VigilConfiguration.parse(yaml: yaml, file: "test.yaml")
    } catch {
        Issue.record("unexpected problems:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
}

@Suite("Parsing")
struct ConfigParsingTests {
    @Test(arguments: ["", "\n", "# only a comment\n", "---\n", "~\n"])
    func emptyFileGivesDefaults(_ yaml: String) throws {
        #expect(try parse(yaml) == VigilConfiguration())
    }

    @Test func readsEverySection() throws {
        let c = try parse("""
            ingest:
              endpoints: [tcp://*:7101, ipc:///run/vigil/ingest.sock]
              subscribe:
                - endpoint: tcp://10.0.0.5:5556
                  topics: [plant1/, plant2/]
                - {endpoint: "tcp://*:5557", mode: bind}
              max_message_bytes: 1_048_576
              receive_hwm: 0
            publish: {endpoint: "tcp://0.0.0.0:7102", send_hwm: 5}
            history: {endpoint: inproc://history, max_reply: 7}
            metrics: {listen: "[::1]:9500"}
            state: {directory: /var/lib/vigil}
            pipeline: {workers: 3, ring_capacity: 5000, overflow: drop}
            limits: {max_sensors: 10}
            logging: {level: debug}
            detectors:
              zscore: {mode: ewma, alpha: 0.2, threshold: 4.5, critical: 9, raise_after: 1}
              alerts: {clear_after: 20}
              calibration: {history: 500}
              combine: {enabled: true, rule: weighted, weights: {zscore: 2}}
            """)
        #expect(c.ingest.endpoints == ["tcp://*:7101", "ipc:///run/vigil/ingest.sock"])
        #expect(c.ingest.subscribe == [
            .init(endpoint: "tcp://10.0.0.5:5556", mode: .connect, topics: ["plant1/", "plant2/"]),
            .init(endpoint: "tcp://*:5557", mode: .bind, topics: [""]),
        ])
        #expect(c.ingest.maxMessageBytes == 1_048_576)
        #expect(c.ingest.receiveHighWaterMark == 0)
        #expect(c.publish == .init(endpoint: "tcp://0.0.0.0:7102", sendHighWaterMark: 5))
        #expect(c.history == .init(endpoint: "inproc://history", maxReply: 7))
        #expect(c.metrics.listen == .init(host: "::1", port: 9500))
        #expect(c.state.directory == "/var/lib/vigil")
        #expect(c.pipeline == .init(workers: .count(3), ringCapacity: 8192, overflow: .drop))
        #expect(c.limits.maxSensors == 10)
        #expect(c.logging.level == .debug)
        #expect(c.detectors.zscore.configuration.mode == .ewma)
        #expect(c.detectors.zscore.configuration.alpha == 0.2)
        #expect(c.detectors.zscore.threshold == 4.5)
        #expect(c.detectors.zscore.raiseAfter == 1)
        #expect(c.detectors.alerts == .init(raiseAfter: 3, clearAfter: 20, clearRatio: 0.75))
        #expect(c.detectors.calibration.history == 500)
        #expect(c.detectors.combine.enabled)
        #expect(c.detectors.combine.configuration.rule == .weighted)
        // (Keys are VigilCore's DetectorKind, which this test target does not depend on.)
        #expect(c.detectors.combine.configuration.weights.count == 1)
        #expect(Array(c.detectors.combine.configuration.weights.values) == [2])
    }

    @Test(arguments: [("\"\"", true), ("off", true), ("", true), ("\"off\"", true), ("\"0.0.0.0:9100\"", false)])
    func metricsCanBeDisabled(_ value: String, _ disabled: Bool) throws {
        let c = try parse("metrics:\n  listen: \(value)\n")
        #expect((c.metrics.listen == nil) == disabled)
    }

    @Test(arguments: [("0", Duration.zero), ("90s", .seconds(90)), ("15m", .seconds(900)), ("12h", .seconds(43_200)),
                      ("30d", .seconds(2_592_000)), ("\"7d\"", .seconds(604_800))])
    func journalRetention(_ text: String, _ expected: Duration) throws {
        #expect(try parse("state: {journal_retention: \(text)}").state.journalRetention == expected)
    }

    @Test("state.checkpoint_interval: 60s by default, 0 checkpoints only at shutdown",
          arguments: [("0", Duration.zero), ("1s", .seconds(1)), ("90s", .seconds(90)), ("15m", .seconds(900))])
    func checkpointInterval(_ text: String, _ expected: Duration) throws {
        #expect(try parse("").state.checkpointInterval == .seconds(60))
        #expect(try parse("state: {checkpoint_interval: \(text)}").state.checkpointInterval == expected)
    }

    @Test("ingest.drain_timeout: 5s by default, 0 closes the sockets at once",
          arguments: [("0", Duration.zero), ("5s", .seconds(5)), ("2m", .seconds(120))])
    func drainTimeout(_ text: String, _ expected: Duration) throws {
        #expect(try parse("").ingest.drainTimeout == .seconds(5))
        #expect(try parse("ingest: {drain_timeout: \(text)}").ingest.drainTimeout == expected)
    }

    @Test(arguments: [(1024, 1024), (1025, 2048), (65536, 65536), (100_000, 131_072)])
    func ringCapacityRoundsUpToPowerOfTwo(_ written: Int, _ capacity: Int) throws {
        #expect(try parse("pipeline: {ring_capacity: \(written)}").pipeline.ringCapacity == capacity)
    }

    @Test func workersAuto() throws {
        let c = try parse("pipeline: {workers: auto}")
        #expect(c.pipeline.workers == .auto)
        #expect(c.pipeline.workers.resolved(activeProcessors: 2) == 2)
        #expect(c.pipeline.workers.resolved(activeProcessors: 3) == 2)
        #expect(c.pipeline.workers.resolved(activeProcessors: 1) == 1)
        #expect(c.pipeline.workers.resolved(activeProcessors: 8) == 7)
    }

    // MARK: - Problems

    @Test func problemCarriesFileLineColumnAndPath() {
        let yaml = """
            detectors:
              zscore:
                window: abc
            """
        let p = problems(yaml, file: "Configs/vigil.yaml")
        #expect(p.count == 1)
        #expect(p.first?.description == #"Configs/vigil.yaml:3:13: detectors.zscore.window: expected an integer ≥ 2, got "abc""#)
        #expect(p.first?.code == .wrongType)
    }

    @Test func collectsEveryProblemInOnePass() {
        let yaml = """
            ingest:
              endpoints: [udp://x:1]
              max_message_bytes: -1
            publish: {endpoint: tcp://127.0.0.1:7002, sendhwm: 3}
            logging: {level: loud}
            detectors:
              zscore: {window: 1, threshold: 0}
              isolation_forest: {features: everything}
            sensors:
              - match: "plant1/[x"
            """
        let p = problems(yaml)
        #expect(p.map(\.keyPath) == [
            "ingest.endpoints[0]", "ingest.max_message_bytes", "publish.sendhwm", "logging.level",
            "detectors.zscore.window", "detectors.zscore.threshold", "detectors.isolation_forest.features",
            "sensors[0].match",
        ])
        #expect(p.map(\.line) == [2, 3, 4, 5, 7, 7, 8, 10])
        // description: one line per problem.
        let error = ConfigError(problems: p)
        #expect(error.description.split(separator: "\n").count == p.count)
    }

    @Test func unknownKeySuggestsClosest() throws {
        let p = problems("detectors:\n  zscore:\n    windw: 10\n")
        let problem = try #require(p.first)
        #expect(problem.code == .unknownKey)
        #expect(problem.keyPath == "detectors.zscore.windw")
        #expect(problem.message == #"unknown key, did you mean "window"?"#)
        #expect((problem.line, problem.column) == (3, 5))
    }

    @Test func unknownKeyWithoutCloseMatchListsKnownKeys() throws {
        let p = problems("state: {folder: /tmp}")
        let problem = try #require(p.first)
        #expect(problem.code == .unknownKey)
        #expect(problem.message == "unknown key (known keys: directory, journal_retention, checkpoint_interval)")
    }

    @Test func unknownTopLevelSection() throws {
        let p = problems("detector:\n  zscore: {}\n")
        #expect(p.map(\.message) == [#"unknown key, did you mean "detectors"?"#])
    }

    @Test(arguments: [
        ("detectors: {zscore: {window: 1}}", "detectors.zscore.window", "expected an integer ≥ 2, got 1"),
        ("detectors: {zscore: {window: 2.5}}", "detectors.zscore.window", "expected an integer ≥ 2, got 2.5"),
        ("detectors: {zscore: {window: \"64\"}}", "detectors.zscore.window", #"expected an integer ≥ 2, got "64""#),
        ("detectors: {zscore: {warmup: 1}}", "detectors.zscore.warmup", "expected an integer ≥ 2, got 1"),
        ("detectors: {zscore: {threshold: 0}}", "detectors.zscore.threshold", "expected a number > 0, got 0"),
        ("detectors: {zscore: {threshold: -1}}", "detectors.zscore.threshold", "expected a number > 0, got -1"),
        ("detectors: {zscore: {threshold: .nan}}", "detectors.zscore.threshold", "expected a number > 0, got .nan"),
        ("detectors: {zscore: {critical: .inf}}", "detectors.zscore.critical", "expected a number > 0, got .inf"),
        ("detectors: {zscore: {alpha: 1}}", "detectors.zscore.alpha", "expected a number in (0, 1), got 1"),
        ("detectors: {zscore: {alpha: 0}}", "detectors.zscore.alpha", "expected a number in (0, 1), got 0"),
        ("detectors: {alerts: {clear_ratio: 0}}", "detectors.alerts.clear_ratio", "expected a number in (0, 1], got 0"),
        ("detectors: {alerts: {clear_ratio: 1.5}}", "detectors.alerts.clear_ratio", "expected a number in (0, 1], got 1.5"),
        ("detectors: {zscore: {clear_ratio: 2}}", "detectors.zscore.clear_ratio", "expected a number in (0, 1], got 2"),
        ("detectors: {alerts: {raise_after: 0}}", "detectors.alerts.raise_after", "expected an integer ≥ 1, got 0"),
        ("detectors: {spectral_residual: {window: 4}}", "detectors.spectral_residual.window", "expected an integer ≥ 8, got 4"),
        ("detectors: {isolation_forest: {threshold: 1.2}}", "detectors.isolation_forest.threshold",
         "expected a number in (0, 1], got 1.2"),
        ("detectors: {isolation_forest: {seed: -1}}", "detectors.isolation_forest.seed", "expected an integer ≥ 0, got -1"),
        ("detectors: {combine: {weights: {zscore: -1}}}", "detectors.combine.weights.zscore", "expected a number ≥ 0, got -1"),
        ("detectors: {zscore: {enabled: maybe}}", "detectors.zscore.enabled", #"expected true or false, got "maybe""#),
        ("detectors: {zscore: [1, 2]}", "detectors.zscore", "expected a mapping, got a list"),
        ("ingest: {endpoints: tcp://127.0.0.1:7001}", "ingest.endpoints", #"expected a list, got "tcp://127.0.0.1:7001""#),
        ("ingest: {max_message_bytes: 0}", "ingest.max_message_bytes", "expected an integer between 1 and 2147483647, got 0"),
        ("pipeline: {workers: 0}", "pipeline.workers", "expected an integer between 1 and 1024, got 0"),
        ("pipeline: {workers: many}", "pipeline.workers", #"expected auto or an integer ≥ 1, got "many""#),
        ("pipeline: {ring_capacity: 512}", "pipeline.ring_capacity", "expected an integer between 1024 and 1073741824, got 512"),
        ("limits: {max_sensors: 0}", "limits.max_sensors", "expected an integer between 1 and 2147483647, got 0"),
        ("state: {directory: \"\"}", "state.directory", #"expected a directory path, got """#),
        ("state: {journal_retention: 30}", "state.journal_retention",
         "expected a duration such as 30d, 12h, 15m or 90s, or 0, got 30 (add a unit: s, m, h or d)"),
        ("state: {journal_retention: 30 days}", "state.journal_retention",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "30 days""#),
        ("state: {journal_retention: -1d}", "state.journal_retention",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "-1d""#),
        ("state: {journal_retention: 1.5h}", "state.journal_retention",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "1.5h""#),
        ("state: {journal_retention: 99999999d}", "state.journal_retention", #"expected at most 100 years, got "99999999d""#),
        ("state: {journal_retention: [30d]}", "state.journal_retention",
         "expected a duration such as 30d, 12h, 15m or 90s, or 0, got a list"),
        ("state: {checkpoint_interval: 60}", "state.checkpoint_interval",
         "expected a duration such as 30d, 12h, 15m or 90s, or 0, got 60 (add a unit: s, m, h or d)"),
        ("state: {checkpoint_interval: -5s}", "state.checkpoint_interval",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "-5s""#),
        ("state: {checkpoint_interval: often}", "state.checkpoint_interval",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "often""#),
        ("ingest: {drain_timeout: 2h}", "ingest.drain_timeout",
         #"expected at most 1h (systemd kills a daemon that takes longer to stop), got "2h""#),
        ("ingest: {drain_timeout: 1.5s}", "ingest.drain_timeout",
         #"expected a duration such as 30d, 12h, 15m or 90s, or 0, got "1.5s""#),
        ("history: {max_request_bytes: 100}", "history.max_request_bytes", "expected an integer between 256 and 1048576, got 100"),
        ("[1, 2]", "", "expected a mapping of sections (ingest, publish, …), got a list"),
    ])
    func wrongTypesAndRanges(_ yaml: String, _ path: String, _ message: String) throws {
        let p = problems(yaml)
        #expect(p.count == 1)
        let problem = try #require(p.first)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
        #expect(problem.line == 1)
    }

    @Test(arguments: [
        ("detectors: {zscore: {mode: rolling_mean}}", "detectors.zscore.mode",
         #"expected one of rolling, ewma, robust, got "rolling_mean""#),
        ("detectors: {zscore: {mode: robst}}", "detectors.zscore.mode",
         #"expected one of rolling, ewma, robust, got "robst" (did you mean "robust"?)"#),
        ("pipeline: {overflow: discard}", "pipeline.overflow", #"expected one of block, drop, got "discard""#),
        ("logging: {level: verbose}", "logging.level",
         #"expected one of trace, debug, info, notice, warning, error, critical, got "verbose""#),
        ("detectors: {combine: {rule: min}}", "detectors.combine.rule", #"expected one of max, weighted, got "min""#),
        ("detectors: {isolation_forest: {features: shingles}}", "detectors.isolation_forest.features",
         #"expected one of shingle, spectral, asset, got "shingles" (did you mean "shingle"?)"#),
        ("ingest: {subscribe: [{endpoint: tcp://a:1, mode: listen}]}", "ingest.subscribe[0].mode",
         #"expected one of connect, bind, got "listen""#),
    ])
    func badEnumValuesListTheAllowedOnes(_ yaml: String, _ path: String, _ message: String) throws {
        let problem = try #require(problems(yaml).first)
        #expect(problem.code == .invalidValue)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
    }

    @Test(arguments: [
        "tcp://127.0.0.1", "tcp://:7001", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000", "tcp://127.0.0.1:+80",
        "tcp://bad host:1", "udp://127.0.0.1:7001", "127.0.0.1:7001", "ipc://", "inproc://", "tcp://[::1:7001",
    ])
    func badEndpoints(_ endpoint: String) throws {
        let problem = try #require(problems("publish: {endpoint: \"\(endpoint)\"}").first)
        #expect(problem.code == .invalidValue)
        #expect(problem.keyPath == "publish.endpoint")
    }

    @Test(arguments: ["tcp://127.0.0.1:7001", "tcp://*:7001", "tcp://[::1]:7001", "tcp://plant-gw.local:7001",
                      "tcp://eth0:7001", "ipc:///tmp/vigil.sock", "inproc://ingest"])
    func goodEndpoints(_ endpoint: String) throws {
        #expect(try parse("ingest: {endpoints: [\"\(endpoint)\"]}").ingest.endpoints == [endpoint])
    }

    @Test func wildcardOnlyForBoundSockets() throws {
        let problem = try #require(problems("ingest: {subscribe: [{endpoint: \"tcp://*:5556\"}]}").first)
        #expect(problem.keyPath == "ingest.subscribe[0].endpoint")
        #expect(problem.message.contains("only valid for a bound socket"))
    }

    @Test func duplicateIngestEndpoints() throws {
        let p = problems("""
            ingest:
              endpoints:
                - tcp://127.0.0.1:7001
                - tcp://127.0.0.1:7001
            """)
        let problem = try #require(p.first)
        #expect(p.count == 1)
        #expect(problem.code == .duplicate)
        #expect(problem.keyPath == "ingest.endpoints[1]")
        #expect(problem.line == 4)
        #expect(problem.message == #"duplicate ingest endpoint "tcp://127.0.0.1:7001", also at ingest.endpoints[0], line 3"#)
    }

    @Test func endpointBoundTwiceAcrossSections() throws {
        let problem = try #require(problems("ingest: {endpoints: [tcp://127.0.0.1:7002]}").first)
        #expect(problem.code == .duplicate)
        #expect(problem.keyPath == "ingest.endpoints[0]")
        #expect(problem.message == #"endpoint "tcp://127.0.0.1:7002" is already bound by publish.endpoint (default)"#)
    }

    @Test func atLeastOneIngestEndpoint() throws {
        let problem = try #require(problems("ingest:\n  endpoints: []\n").first)
        #expect(problem.keyPath == "ingest.endpoints")
        #expect(problem.line == 2)
        // A subscription alone is enough.
        let c = try parse("ingest: {endpoints: [], subscribe: [{endpoint: tcp://10.0.0.1:5556}]}")
        #expect(c.ingest.endpoints.isEmpty)
    }

    @Test(arguments: ["localhost", "127.0.0.1:", ":9464", "127.0.0.1:http", "127.0.0.1:99999", "::1:9464", "a b:1"])
    func badMetricsListen(_ listen: String) throws {
        let problem = try #require(problems("metrics: {listen: \"\(listen)\"}").first)
        #expect(problem.code == .invalidValue)
        #expect(problem.keyPath == "metrics.listen")
        #expect(problem.message.hasPrefix("expected host:port"))
    }

    @Test(arguments: [
        ("detectors: {zscore: {warmup: 300}}", "detectors.zscore.warmup", "warmup (300) must be ≤ window (256)"),
        ("detectors: {zscore: {window: 32}}", "detectors.zscore.window", "warmup (64) must be ≤ window (32)"),
        ("detectors: {zscore: {critical: 4}}", "detectors.zscore.critical", "critical (4) must be ≥ threshold (5)"),
        ("detectors: {zscore: {threshold: 9}}", "detectors.zscore.threshold", "critical (8) must be ≥ threshold (9)"),
        ("detectors: {spectral_residual: {score_window: 100}}", "detectors.spectral_residual.score_window",
         "score_window (100) must be ≤ window (59)"),
        ("detectors: {isolation_forest: {training_window: 100}}", "detectors.isolation_forest.training_window",
         "sample_size (256) must be ≤ training_window (100)"),
        ("detectors: {calibration: {warmup: 3000}}", "detectors.calibration.warmup", "warmup (3000) must be ≤ history (2000)"),
        ("detectors: {combine: {critical: 0.9}}", "detectors.combine.critical", "critical (0.9) must be ≥ threshold (0.9999999)"),
    ])
    func inconsistentValues(_ yaml: String, _ path: String, _ message: String) throws {
        let p = problems(yaml)
        #expect(p.count == 1)
        let problem = try #require(p.first)
        #expect(problem.code == .inconsistent)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
    }

    @Test func inconsistentOverrideIsBlamedOnTheOverride() throws {
        let p = problems("""
            sensors:
              - match: "plant1/**"
                zscore: {threshold: 10}
            """)
        let problem = try #require(p.first)
        #expect(p.count == 1)
        #expect(problem.keyPath == "sensors[0].zscore.threshold")
        #expect(problem.line == 3)
        #expect(problem.message == #"critical (8) must be ≥ threshold (10) for sensors matching "plant1/**""#)
        // Setting both together is fine.
        _ = try parse("sensors: [{match: \"plant1/**\", zscore: {threshold: 10, critical: 12}}]")
    }

    @Test(arguments: ["pump[0-9", "a***", "", "x\\\\"])
    func badGlobs(_ glob: String) throws {
        let p = problems("sensors:\n  - match: \"\(glob)\"\n    zscore: {threshold: 6}\n")
        let problem = try #require(p.first)
        #expect(problem.code == .invalidValue)
        #expect(problem.keyPath == "sensors[0].match")
        #expect(problem.message.hasPrefix("invalid glob"))
        let assetProblem = try #require(problems("assets: [{name: a, sensors: [\"\(glob)\"]}]").first)
        #expect(assetProblem.keyPath == "assets[0].sensors[0]")
    }

    @Test func overrideNeedsMatch() throws {
        let problem = try #require(problems("sensors:\n  - zscore: {threshold: 6}\n").first)
        #expect(problem.code == .missingKey)
        #expect(problem.keyPath == "sensors[0].match")
    }

    @Test func assetProblems() {
        let p = problems("""
            assets:
              - name: pump7
                sensors: ["plant1/pump7/*"]
              - name: pump7
                sensors: []
              - sensors: ["x/*"]
                isolation_forest: {features: asset, treez: 5}
            """)
        #expect(p.map(\.keyPath) == ["assets[1].name", "assets[1].sensors", "assets[2].name",
                                     "assets[2].isolation_forest.treez"])
        #expect(p.map(\.code) == [.duplicate, .invalidValue, .missingKey, .unknownKey])
    }

    @Test func assetFeaturesOnlyInAssets() throws {
        let problem = try #require(problems("detectors: {isolation_forest: {features: asset}}").first)
        #expect(problem.keyPath == "detectors.isolation_forest.features")
        #expect(problem.message.contains("assets entry"))
        #expect(problems("sensors: [{match: \"a/*\", isolation_forest: {features: asset}}]").count == 1)
    }

    @Test func syntaxErrorHasLine() throws {
        let p = problems("""
            ingest:
              endpoints: [tcp://127.0.0.1:7001
            publish:
              endpoint: tcp://127.0.0.1:7002
            """)
        let problem = try #require(p.first)
        #expect(p.count == 1)
        #expect(problem.code == .syntax)
        #expect(problem.line >= 2)
        #expect(problem.message.hasPrefix("invalid YAML"))
        #expect(problem.description.hasPrefix("test.yaml:\(problem.line):"))
    }

    @Test func badIndentationIsASyntaxError() throws {
        let problem = try #require(problems("detectors:\n  zscore:\n    window: 3\n   warmup: 2\n").first)
        #expect(problem.code == .syntax)
        #expect(problem.line == 4)
    }

    @Test func tabIndentationIsExplained() throws {
        let problem = try #require(problems("logging:\n\tlevel: info\n").first)
        #expect(problem.code == .syntax)
        #expect(problem.line == 2)
        #expect(problem.message.hasSuffix("YAML is indented with spaces, not tabs"))
    }

    @Test func badAndDuplicateEndpointsInOneList() {
        let p = problems("ingest: {endpoints: [tcp://127.0.0.1:7001, tcp://127.0.0.1:7001, udp://x:1]}")
        #expect(p.map(\.keyPath) == ["ingest.endpoints[1]", "ingest.endpoints[2]"])
        #expect(p.map(\.code) == [.duplicate, .invalidValue])
        #expect(problems("ingest: {endpoints: [udp://x:1]}").count == 1)
    }

    @Test func duplicateKeyIsASyntaxError() throws {
        let problem = try #require(problems("logging:\n  level: info\n  level: debug\n").first)
        #expect(problem.code == .syntax)
        #expect(problem.message.contains(#""level""#))
        #expect(problem.line == 2)
    }

    @Test func missingFile() throws {
        let path = "/nonexistent/vigil-\(UInt64.random(in: 0...UInt64.max)).yaml"
        do {
            _ = try VigilConfiguration.load(path: path)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems[0].code == .unreadableFile)
            #expect(error.description == "\(path): configuration file not found")
        }
    }

    @Test func directoryIsNotAFile() throws {
        #expect(throws: ConfigError.self) { try VigilConfiguration.load(path: NSTemporaryDirectory()) }
    }

    @Test func loadsFromDisk() throws {
        let path = NSTemporaryDirectory() + "vigil-config-test-\(UInt64.random(in: 0...UInt64.max)).yaml"
        try "logging: {level: error}\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try VigilConfiguration.load(path: path).logging.level == .error)
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try VigilConfiguration.load(path: path) == VigilConfiguration())
        try "logging: {level: 3}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try VigilConfiguration.load(path: path) }
    }

    @Test func errorDescriptionFormat() {
        let error = ConfigError(problems: [
            ConfigProblem(code: .outOfRange, file: "a.yaml", line: 14, column: 7, keyPath: "detectors.zscore.window",
                          message: "expected an integer ≥ 2, got 1"),
            ConfigProblem(code: .unreadableFile, file: "b.yaml", line: 0, column: 0, keyPath: "", message: "gone"),
        ])
        #expect(error.description == """
            a.yaml:14:7: detectors.zscore.window: expected an integer ≥ 2, got 1
            b.yaml: gone
            """)
    }
}

@Suite("Key suggestions")
struct KeySuggestionTests {
    @Test(arguments: [
        ("windw", "window"), ("widnow", "window"), ("treshold", "threshold"), ("thresold", "threshold"),
        ("raise_afer", "raise_after"), ("hpo", "hop"), ("endpiont", "endpoint"), ("max_snesors", "max_sensors"),
    ])
    func suggests(_ typo: String, _ key: String) throws {
        let yaml = switch key {
        case "endpoint": "publish: {\(typo): tcp://127.0.0.1:7002}"
        case "max_sensors": "limits: {\(typo): 5}"
        case "hop": "detectors: {spectral_residual: {\(typo): 5}}"
        default: "detectors: {zscore: {\(typo): 5}}"
        }
        let problem = try #require(problems(yaml).first)
        #expect(problem.message == "unknown key, did you mean \"\(key)\"?")
    }

    @Test(arguments: ["colour", "x", "windowsize12"])
    func noSuggestionForDistantKeys(_ key: String) throws {
        let problem = try #require(problems("detectors: {zscore: {\(key): 5}}").first)
        #expect(problem.message.hasPrefix("unknown key (known keys: enabled, threshold, critical"))
    }
}
