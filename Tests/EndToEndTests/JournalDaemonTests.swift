// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilCore
import VigilDaemon
import VigilJournal
import VigilTestKit
import ZeroMQ

/// The journal as the daemon runs it: retention and file modes, in process with real files.
@Suite("Journal in the daemon", .serialized)
struct JournalDaemonTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    static func metricsPort(_ o: DaemonOptions) -> Int { Int(o.metricsListen!.split(separator: ":").last!)! }

    static func metric(_ o: DaemonOptions, _ name: String) -> Double? {
        TestNetwork.httpGet(port: metricsPort(o), path: "/metrics")?.body.split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test("retention deletes alerts past state.journal_retention while the daemon runs, and seq continues after them")
    func retention() throws {
        let state = TestNetwork.temporaryDirectory()
        var options = DaemonInProcessTests.options(state: state)
        options.journalRetention = .seconds(1)
        options.journalRetentionInterval = .milliseconds(200)
        do {
            let daemon = try Daemon(options: options, logger: Logger(label: "test"))
            try daemon.start()
            defer { daemon.stop() }
            try sendSpike(to: options.ingestEndpoints[0], sensor: "keep/a", start: 1_700_000_000_000_000_000)
            #expect(TestNetwork.waitUntil(seconds: 10) { Self.metric(options, "vigil_alert_seq") == 2 })
            #expect(TestNetwork.waitUntil(seconds: 5) { Self.metric(options, "vigil_journal_retention_deleted_total") == 2 })
            let reader = try Journal(path: options.journalPath, access: .readOnly)
            #expect(try reader.count() == 0)
            #expect(try reader.lastSeq() == 2)
            try sendSpike(to: options.ingestEndpoints[0], sensor: "keep/b", start: 1_700_000_000_000_000_000)
            #expect(TestNetwork.waitUntil(seconds: 10) { Self.metric(options, "vigil_alert_seq") == 4 })
            #expect(TestNetwork.waitUntil(seconds: 5) { Self.metric(options, "vigil_journal_retention_deleted_total") == 4 })
        }
        // Every alert is gone; a restart (keeping all from now on) still continues the seq.
        options.journalRetention = .zero
        let again = try Daemon(options: options, logger: Logger(label: "test"))
        try again.start()
        defer { again.stop() }
        let context = try ZMQContext()
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.subscribe("alert/")
        try sub.setReceiveTimeout(5000)
        try sub.connect(options.publishEndpoint)
        usleep(200_000)
        try sendSpike(to: options.ingestEndpoints[0], sensor: "keep/c", start: 1_700_000_000_000_000_000)
        let frames = try #require(try sub.receiveMultipart())
        #expect(try JSONDecoder().decode(AlertRecord.self, from: Data(frames[1])).seq == 5)
        sub.close()
    }

    @Test("a state directory the daemon creates is 0750; journal and its WAL files 0600, snapshot and FFTW wisdom 0640")
    func fileModes() throws {
        let state = TestNetwork.temporaryDirectory() + "/nested/state"
        let options = DaemonInProcessTests.options(state: state)
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        try daemon.start()
        try sendSpike(to: options.ingestEndpoints[0], sensor: "modes/a", start: 1_700_000_000_000_000_000)
        #expect(TestNetwork.waitUntil(seconds: 10) { Self.metric(options, "vigil_alert_seq") == 2 })
        for directory in [state, (state as NSString).deletingLastPathComponent] {
            #expect(Self.mode(directory) == 0o750, "\(directory): \(String(Self.mode(directory) ?? 0, radix: 8))")
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = options.journalPath + suffix
            #expect(Self.mode(file) == 0o600, "\(file): \(String(Self.mode(file) ?? 0, radix: 8))")
        }
        daemon.stop()
        #expect(Self.mode(daemon.snapshotPath) == 0o640)
        let wisdom = state + "/fftw.wisdom"
        if FileManager.default.fileExists(atPath: wisdom) { #expect(Self.mode(wisdom) == 0o640) }
        #expect(Self.mode(options.journalPath) == 0o600)
    }

    @Test("an existing wider state directory is left as it is (it may be shared); the journal in it is still 0600")
    func widerDirectoryLeftAlone() throws {
        let state = TestNetwork.temporaryDirectory()
        chmod(state, 0o777)
        let options = DaemonInProcessTests.options(state: state)
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        try daemon.start()
        daemon.stop()
        #expect(Self.mode(state) == 0o777)
        #expect(Self.mode(options.journalPath) == 0o600)
    }
}
