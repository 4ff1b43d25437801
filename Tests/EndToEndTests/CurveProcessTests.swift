// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
import ZeroMQ

/// Key pairs made by `vigil keygen --out` in a directory of their own: the daemon's, an
/// authorized client's, a stranger's (a valid key nobody authorized) and a plant publisher's.
struct CurveKeys {
    let directory: String
    let daemonPublic: String
    let clientPublic: String
    let strangerPublic: String
    let plantPublic: String

    var daemonKey: String { directory + "/daemon.key" }
    var daemonPub: String { directory + "/daemon.pub" }
    var clientKey: String { directory + "/client.key" }
    var strangerKey: String { directory + "/stranger.key" }
    var plantKey: String { directory + "/plant.key" }
    var authorizedKeys: String { directory + "/authorized_keys" }

    init() throws {
        directory = TestNetwork.temporaryDirectory("vigil-keys")
        let vigil = binDirectory.appendingPathComponent("vigil").path
        var publics: [String: String] = [:]
        for name in ["daemon", "client", "stranger", "plant"] {
            let r = try runProgram(vigil, ["keygen", "--out", directory + "/" + name])
            try #require(r.status == 0, "keygen: \(r.err)")
            publics[name] = try String(contentsOfFile: directory + "/\(name).pub", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        daemonPublic = publics["daemon"]!
        clientPublic = publics["client"]!
        strangerPublic = publics["stranger"]!
        plantPublic = publics["plant"]!
        try authorize([clientPublic])
    }

    /// Rewrites the authorized-keys file (mode 0644) with `keys`, one a line, under a comment.
    func authorize(_ keys: [String], extra: String = "") throws {
        try ("# clients allowed to talk to the test daemon\n" + keys.map { $0 + "\n" }.joined() + extra)
            .write(toFile: authorizedKeys, atomically: true, encoding: .utf8)
        chmod(authorizedKeys, 0o644)
    }

    /// The `security` section for these keys.
    var yaml: String {
        """
        security:
          curve:
            secret_key_file: \(daemonKey)
            authorized_keys_file: \(authorizedKeys)
        """
    }

    /// pyzmq_peer.py's environment for a CURVE client with `keyFile` (nil: a plain client).
    func peerEnvironment(_ keyFile: String?, serverKey: String? = nil) -> [String] {
        guard let keyFile else { return [] }
        return ["VIGIL_CURVE_SERVER_KEY=\(serverKey ?? daemonPublic)", "VIGIL_CURVE_KEY_FILE=\(keyFile)"]
    }
}

/// `security.curve` against real `vigild` processes, with pyzmq (its own libzmq) as the
/// independent CURVE peer and `vigil tail` / `vigil replay` as the shipped clients.
@Suite("vigild with CURVE", .serialized, .enabled(if: zmqHasCurve))
struct CurveProcessTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path
    let peer = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_peer.py").path
    let fixture = packageRoot.appendingPathComponent("Fixtures/synthetic/pump7.csv").path

    /// Runs pyzmq_peer.py to completion with `environment` (`NAME=value` entries), killed after
    /// 30 s so that a peer stuck in a refused connection fails the test instead of hanging it.
    func py(_ arguments: [String], _ environment: [String] = []) throws -> (status: Int32, out: String, err: String) {
        try runProgram("/usr/bin/env", environment + ["timeout", "30", "python3", peer] + arguments)
    }

    /// Starts pyzmq_peer.py in the background; its stdout is returned for reading.
    func pyInBackground(_ arguments: [String], _ environment: [String] = []) throws -> (Process, FileHandle) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = environment + ["timeout", "30", "python3", peer] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, out.fileHandleForReading)
    }

    static func alerts(_ text: String) -> [AlertRecord] {
        text.split(separator: "\n").compactMap { try? JSONDecoder().decode(AlertRecord.self, from: Data($0.utf8)) }
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    func failures(_ daemon: VigildProcess, _ endpoint: String) -> Double {
        daemon.metric("vigil_auth_failures_total{endpoint=\"\(endpoint)\"}") ?? -1
    }

    @Test("only the authorized key gets in: a plain or unauthorized pyzmq peer's samples are not processed and it gets no alerts, each refusal counted and logged at a bounded rate; pyzmq and vigil tail with the key get the alerts; history over CURVE; state files private")
    func authorizedOnly() throws {
        let keys = try CurveKeys()
        let daemon = try VigildProcess(extraYAML: keys.yaml)
        try daemon.start()
        // stderr reaches the log through a pipe: the ready line may trail /readyz a little.
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.logText.contains("curve=on, public key \(keys.daemonPublic), 1 authorized keys") },
                "\(daemon.logText)")
        #expect(daemon.metric("vigil_auth_authorized_keys") == 1)
        for endpoint in [daemon.ingest, daemon.publish, daemon.history] { #expect(failures(daemon, endpoint) == 0) }

        // Subscribers first: the authorized one (pyzmq), a plain one, a stranger, and vigil tail.
        let (good, goodOut) = try pyInBackground(["sub", daemon.publish, "2", "20"], keys.peerEnvironment(keys.clientKey))
        let (plain, plainOut) = try pyInBackground(["sub", daemon.publish, "1", "6"])
        let (stranger, strangerOut) = try pyInBackground(["sub", daemon.publish, "1", "6"], keys.peerEnvironment(keys.strangerKey))
        defer { for p in [good, plain, stranger] where p.isRunning { p.terminate() } }
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: vigil)
        tail.arguments = ["tail", "--endpoint", daemon.publish, "--history", daemon.history, "--json", "--count", "2",
                          "--idle-timeout", "20", "--server-key", "@" + keys.daemonPub, "--key-file", keys.clientKey]
        let tailOut = Pipe(), tailErr = Pipe()
        tail.standardOutput = tailOut
        tail.standardError = tailErr
        try tail.run()
        defer { if tail.isRunning { tail.terminate() } }
        #expect(goodOut.availableDataLine() == "subscribed")
        usleep(1_000_000)  // the subscriptions (and the refusals) reach the daemon

        // Samples from a plain and from an unauthorized CURVE sender are never processed.
        let shortLinger = ["VIGIL_PEER_LINGER_MS=1500", "VIGIL_PEER_SEND_TIMEOUT_MS=2000"]
        let plainSend = try py(["send", daemon.ingest, "plain/s", "300", "200"], shortLinger)
        let strangerSend = try py(["send", daemon.ingest, "stranger/s", "300", "200"], shortLinger + keys.peerEnvironment(keys.strangerKey))
        #expect(plainSend.status == 0 && strangerSend.status == 0, "\(plainSend.err) \(strangerSend.err)")
        #expect(TestNetwork.waitUntil(seconds: 5) { failures(daemon, daemon.ingest) >= 2 }, "\(daemon.logText)")
        #expect(daemon.metric("vigil_samples_processed_total") == 0)
        #expect(daemon.metric("vigil_messages_received_total") == 0)

        // The authorized sender's are.
        let send = try py(["send", daemon.ingest, "py/curve", "300", "200"], keys.peerEnvironment(keys.clientKey))
        #expect(send.status == 0, "\(send.err)")
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == 300 })
        let received = Self.alerts(String(decoding: goodOut.readDataToEndOfFile(), as: UTF8.self))
        good.waitUntilExit()
        #expect(received.map(\.event) == [.raised, .cleared])
        #expect(received.allSatisfy { $0.sensor == "py/curve" })
        let tailed = Self.alerts(String(decoding: tailOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        tail.waitUntilExit()
        #expect(tail.terminationStatus == 0, "\(String(decoding: tailErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect(tailed.map(\.seq) == [1, 2], "vigil tail with --server-key and --key-file gets the live alerts")
        plain.waitUntilExit()
        stranger.waitUntilExit()
        #expect(Self.alerts(String(decoding: plainOut.readDataToEndOfFile(), as: UTF8.self)).isEmpty, "a plain subscriber gets nothing")
        #expect(Self.alerts(String(decoding: strangerOut.readDataToEndOfFile(), as: UTF8.self)).isEmpty, "an unauthorized one neither")
        #expect(failures(daemon, daemon.publish) >= 2)

        // How each refusal looks to an independent client: pyzmq's own socket monitor.
        #expect(try py(["handshake", daemon.publish, "sub", "3"]).out.hasPrefix("failed_protocol 0x11000002"), "plain: mechanism mismatch")
        #expect(try py(["handshake", daemon.history, "req", "3"], keys.peerEnvironment(keys.strangerKey)).out.hasPrefix("failed_auth 400"))
        #expect(try py(["handshake", daemon.history, "req", "3"], keys.peerEnvironment(keys.clientKey)).out.hasPrefix("succeeded"))

        // History: answered over CURVE for the authorized key, silence for a plain client.
        let page = try py(["ask", daemon.history, #"{"since_seq": 0}"#, "5"], keys.peerEnvironment(keys.clientKey))
        #expect(page.out.contains("\"head_seq\":2") && page.out.contains("py/curve"), "\(page.out) \(page.err)")
        #expect(try py(["ask", daemon.history, #"{"since_seq": 0}"#, "2"]).out.hasPrefix("no reply"))
        #expect(failures(daemon, daemon.history) >= 2)
        let replayed = try runProgram(vigil, ["tail", "--endpoint", daemon.publish, "--history", daemon.history, "--since", "0",
                                              "--json", "--count", "2", "--server-key", keys.daemonPublic, "--key-file", keys.clientKey])
        #expect(replayed.status == 0, "\(replayed.err)")
        #expect(Self.alerts(replayed.out).map(\.seq) == [1, 2], "vigil tail --since over CURVE")

        // Each refusal was logged, at most one line per endpoint per 10 s (the rest are counted).
        let log = daemon.logText
        let ingestLines = log.split(separator: "\n").filter { $0.contains("refused a connection on \(daemon.ingest)") }
        #expect(ingestLines.count == 1, "\(log)")
        #expect(log.contains(keys.strangerPublic), "the refused key is named")
        #expect(!log.contains(try String(contentsOfFile: keys.daemonKey, encoding: .utf8).trimmingCharacters(in: .newlines)),
                "the daemon's secret key never reaches the log")

        #expect(daemon.stop() == 0)
        #expect(daemon.logText.contains("more connection"), "the held-back refusals are summed up by the end: \(daemon.logText)")
        // State files: the journal and its WAL 0600, snapshot and wisdom 0640, nothing for others.
        #expect(Self.mode(daemon.state + "/journal.sqlite") == 0o600)
        #expect(Self.mode(daemon.state + "/detectors.snapshot") == 0o640)
        let files = try FileManager.default.contentsOfDirectory(atPath: daemon.state).filter { $0 != "vigil.yaml" }
        #expect(files.contains("journal.sqlite") && files.contains("detectors.snapshot"), "\(files)")
        for file in files {
            let mode = try #require(Self.mode(daemon.state + "/" + file))
            #expect(mode & 0o007 == 0, "\(file) is mode 0\(String(mode, radix: 8))")
            if file.hasPrefix("journal.sqlite") { #expect(mode == 0o600, "\(file)") }
            if file == "fftw.wisdom" { #expect(mode == 0o640) }
        }
    }

    @Test("vigil replay with the keys delivers its samples; a refused, plain, misdirected or missing-key client says why within the handshake timeout and sends nothing")
    func clients() throws {
        let keys = try CurveKeys()
        let daemon = try VigildProcess(extraYAML: keys.yaml)
        try daemon.start()
        defer { daemon.stop() }
        let to = ["--to", daemon.ingest, "--quiet"]
        let ok = try runProgram(vigil, ["replay", fixture] + to + ["--server-key", "@" + keys.daemonPub, "--key-file", keys.clientKey])
        #expect(ok.status == 0, "\(ok.err)")
        let samples = try #require(Double(ok.out.split(separator: " ")[1]), "\(ok.out)")
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == samples })

        let cases: [(arguments: [String], says: String)] = [
            (["--server-key", "@" + keys.daemonPub, "--key-file", keys.strangerKey],
             "refused this client's CURVE key \(keys.strangerPublic)"),
            ([], "requires CURVE authentication: pass --server-key"),
            (["--server-key", keys.clientPublic, "--key-file", keys.clientKey],
             "closed the connection during the CURVE handshake: --server-key \(keys.clientPublic) is most likely not the daemon's public key"),
        ]
        for c in cases {
            let started = Date()
            let r = try runProgram(vigil, ["replay", fixture] + to + c.arguments + ["--handshake-timeout", "3"])
            let took = Date().timeIntervalSince(started)
            #expect(r.status == 1, "\(c.arguments): \(r.out)")
            #expect(r.err.contains(c.says), "\(r.err)")
            #expect(took < 4.5, "\(c.arguments) took \(took) s")
        }
        let nobody = try runProgram(vigil, ["replay", fixture, "--to", TestNetwork.freeEndpoint(), "--handshake-timeout", "0.5",
                                            "--server-key", keys.daemonPublic, "--key-file", keys.clientKey])
        #expect(nobody.status == 1 && nobody.err.contains("cannot reach the ingest endpoint"), "\(nobody.err)")

        let tailArguments = ["tail", "--endpoint", daemon.publish, "--history", daemon.history, "--idle-timeout", "10",
                             "--handshake-timeout", "3"]
        let refusedTail = try runProgram(vigil, tailArguments + ["--server-key", "@" + keys.daemonPub, "--key-file", keys.strangerKey])
        #expect(refusedTail.status == 1 && refusedTail.err.contains("the alert feed \(daemon.publish) refused this client's CURVE key"), "\(refusedTail.err)")
        let plainTail = try runProgram(vigil, tailArguments + ["--since", "0"])
        #expect(plainTail.status == 1 && plainTail.err.contains("requires CURVE authentication"), "\(plainTail.err)")

        // Key arguments checked before anything connects.
        chmod(keys.strangerKey, 0o644)
        let usage: [(arguments: [String], says: String)] = [
            (["--server-key", keys.daemonPublic], "--server-key needs --key-file"),
            (["--key-file", keys.clientKey], "--key-file needs --server-key"),
            (["--server-key", String(keys.daemonPublic.dropLast()), "--key-file", keys.clientKey],
             "--server-key: not a Z85 CURVE public key: expected 40 Z85 characters, got 39"),
            (["--server-key", "@/nonexistent.pub", "--key-file", keys.clientKey], "--server-key @/nonexistent.pub: /nonexistent.pub: no such file"),
            (["--server-key", keys.daemonPublic, "--key-file", keys.directory + "/none.key"], "none.key: no such file"),
            (["--server-key", keys.daemonPublic, "--key-file", keys.strangerKey], "mode 0644 lets group or others read this secret key"),
        ]
        for u in usage {
            for command in [["replay", fixture] + to, tailArguments] {
                let r = try runProgram(vigil, command + u.arguments)
                #expect(r.status != 0 && r.err.contains(u.says), "\(command[0]) \(u.arguments): \(r.err)")
            }
        }
        #expect(daemon.metric("vigil_samples_processed_total") == samples, "nothing from the refused clients")
    }

    @Test("SIGHUP re-reads the authorized keys: an added key is admitted, a malformed file keeps the running list and names its line, a removed key is refused again")
    func reload() throws {
        let keys = try CurveKeys()
        let daemon = try VigildProcess(extraYAML: keys.yaml)
        try daemon.start()
        defer { daemon.stop() }
        let stranger = ["replay", fixture, "--to", daemon.ingest, "--quiet", "--handshake-timeout", "3",
                        "--server-key", "@" + keys.daemonPub, "--key-file", keys.strangerKey]
        let before = try runProgram(vigil, stranger)
        #expect(before.status == 1 && before.err.contains("refused"), "\(before.err)")

        try keys.authorize([keys.clientPublic, keys.strangerPublic])
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.logText.contains("2 keys (1 added, 0 removed)") }, "\(daemon.logText)")
        #expect(daemon.metric("vigil_auth_authorized_keys") == 2)
        let after = try runProgram(vigil, stranger)
        #expect(after.status == 0, "\(after.err)")
        let samples = try #require(Double(after.out.split(separator: " ")[1]))
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == samples })

        // A malformed third key line: the reload is refused, the running list kept.
        try keys.authorize([keys.clientPublic, keys.strangerPublic], extra: "not-a-key\n")
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.logText.contains("reload refused") }, "\(daemon.logText)")
        let refusal = daemon.logText.split(separator: "\n").first { $0.contains("reload refused") }.map(String.init) ?? ""
        #expect(refusal.contains("security.curve.authorized_keys_file: \(keys.authorizedKeys):4: not a Z85 CURVE public key"), "\(refusal)")
        #expect(refusal.contains("keeping the running configuration (detector settings and authorized keys)"))
        #expect(daemon.metric("vigil_auth_authorized_keys") == 2)
        #expect(try runProgram(vigil, stranger).status == 0, "the stranger's key is still admitted")

        // Taken out again: new connections are refused.
        try keys.authorize([keys.clientPublic])
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.logText.contains("1 key (0 added, 1 removed)") }, "\(daemon.logText)")
        let removed = try runProgram(vigil, stranger)
        #expect(removed.status == 1 && removed.err.contains("refused"), "\(removed.err)")
        #expect(daemon.process.isRunning)
    }

    @Test("a connecting SUB ingest entry is a CURVE client of the plant publisher (server_key), with the daemon's own key pair")
    func connectingSubscription() throws {
        let keys = try CurveKeys()
        let plant = TestNetwork.freeEndpoint()
        // pyzmq binds a CURVE PUB with the plant's key and admits only the daemon's public key.
        let (publisher, out) = try pyInBackground(["pub", plant, keys.plantKey, keys.daemonPublic, "plant/feed", "300", "200", "20"])
        defer { if publisher.isRunning { publisher.terminate() } }
        #expect(out.availableDataLine() == "bound")
        let daemon = try VigildProcess(extraYAML: keys.yaml,
                                       ingestYAML: "  subscribe:\n    - {endpoint: \"\(plant)\", server_key: \"\(keys.plantPublic)\"}")
        try daemon.start()
        defer { daemon.stop() }
        let said = String(decoding: out.readDataToEndOfFile(), as: UTF8.self)
        publisher.waitUntilExit()
        #expect(said.contains("admitted \(keys.daemonPublic)"), "\(said)")
        #expect(said.contains("published"), "\(said)")
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == 300 }, "\(daemon.logText)")
    }

    @Test("vigil keygen --out writes PATH.key 0600 and PATH.pub, refuses to overwrite without --force, and pyzmq derives the same public key")
    func keygen() throws {
        let dir = TestNetwork.temporaryDirectory("vigil-keygen")
        let path = dir + "/node"
        let first = try runProgram(vigil, ["keygen", "--out", path])
        #expect(first.status == 0, "\(first.err)")
        #expect(Self.mode(path + ".key") == 0o600)
        #expect(Self.mode(path + ".pub") == 0o644)
        let secret = try String(contentsOfFile: path + ".key", encoding: .utf8)
        let pub = try String(contentsOfFile: path + ".pub", encoding: .utf8)
        #expect(secret.utf8.count == 41 && secret.hasSuffix("\n") && pub.utf8.count == 41)
        #expect(first.out.contains("public: \(pub.dropLast())"))
        #expect(!first.out.contains(secret.dropLast()), "the secret key is not printed with --out")
        // An independent libzmq derives the public key from the secret file.
        let derived = try runProgram("/usr/bin/env", ["python3", "-c",
            "import zmq, sys; print(zmq.curve_public(open(sys.argv[1]).read().strip().encode()).decode())", path + ".key"])
        #expect(derived.out.trimmingCharacters(in: .newlines) == pub.dropLast(), "\(derived.err)")
        #expect(try zmqCurvePublicKey(secretKey: String(secret.dropLast())) == pub.dropLast())

        let again = try runProgram(vigil, ["keygen", "--out", path])
        #expect(again.status == 1 && again.err.contains("\(path).key exists; refusing to overwrite"), "\(again.err)")
        #expect(try String(contentsOfFile: path + ".key", encoding: .utf8) == secret, "untouched")
        chmod(path + ".key", 0o644)  // a replaced key never inherits a wide mode
        let forced = try runProgram(vigil, ["keygen", "--out", path, "--force"])
        #expect(forced.status == 0, "\(forced.err)")
        #expect(try String(contentsOfFile: path + ".key", encoding: .utf8) != secret)
        #expect(Self.mode(path + ".key") == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["node.key", "node.pub"], "no temporary file left")

        let printed = try runProgram(vigil, ["keygen"])
        let lines = printed.out.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("public: ") && lines[1].hasPrefix("secret: "))
        #expect(try zmqCurvePublicKey(secretKey: String(lines[1].dropFirst(8))) == lines[0].dropFirst(8))
        #expect(try runProgram(vigil, ["keygen", "--force"]).err.contains("--force goes with --out"))
    }

    @Test("vigild refuses to start with CURVE misconfigured: exit 78 and one line naming the file, line and what is wrong",
          arguments: ["secret key readable by others", "authorized keys missing", "malformed key line",
                      "connecting subscription without server_key"])
    func failClosed(_ what: String) throws {
        let keys = try CurveKeys()
        var ingestYAML = ""
        let says: String
        switch what {
        case "secret key readable by others":
            chmod(keys.daemonKey, 0o644)
            says = "security.curve.secret_key_file: \(keys.daemonKey): mode 0644 lets group or others read this secret key"
        case "authorized keys missing":
            try FileManager.default.removeItem(atPath: keys.authorizedKeys)
            says = "security.curve.authorized_keys_file: \(keys.authorizedKeys): no such file"
        case "malformed key line":
            try keys.authorize([keys.clientPublic, String(keys.strangerPublic.dropLast())])
            says = "\(keys.authorizedKeys):3: not a Z85 CURVE public key: expected 40 Z85 characters, got 39"
        default:
            ingestYAML = "  subscribe:\n    - {endpoint: \"\(TestNetwork.freeEndpoint())\"}"
            says = "ingest.subscribe[0].server_key: with security.curve, a connecting subscription needs server_key"
        }
        let daemon = try VigildProcess(extraYAML: keys.yaml, ingestYAML: ingestYAML)
        let r = try runProgram(binDirectory.appendingPathComponent("vigild").path, ["--config", daemon.configPath])
        #expect(r.status == 78, "\(r.err)")
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(r.err)")
        #expect(lines.first?.hasPrefix("vigild: refusing to start: \(daemon.configPath):") == true, "\(r.err)")
        #expect(r.err.contains(says), "\(r.err)")
        #expect(TestNetwork.httpGet(port: daemon.metricsPort, path: "/healthz") == nil, "nothing listens")
        let check = try runProgram(vigil, ["check-config", daemon.configPath])
        #expect(check.status == 1 && check.err.contains(says), "\(check.err)")
    }
}
