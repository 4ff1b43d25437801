// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore

/// `security.curve` and `ingest.subscribe[].server_key`, with real key files in a temporary
/// directory: every problem is reported at the YAML key that names the file, with the key
/// file's own line where one is at fault.
@Suite("security.curve")
struct SecurityConfigTests {
    // ZeroMQ's curve example pair, and two more public keys.
    static let secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
    static let client = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    static let other = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    /// A commented-out key: `#` is a Z85 digit, but no key starts with it (the group would
    /// exceed 2^32 - 1), so a 40-character line starting with `#` is a comment.
    static let commented = "#" + other.dropFirst()

    /// A fresh directory with `files` written at `mode`s.
    static func directory(_ files: [String: (text: String, mode: Int)]) throws -> String {
        let dir = NSTemporaryDirectory() + "vigil-security-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, file) in files {
            let path = dir + "/" + name
            try file.text.write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: file.mode], ofItemAtPath: path)
        }
        return dir
    }

    static func yaml(_ dir: String, secret: String = "daemon.key", authorized: String = "authorized_keys") -> String {
        """
        logging: {level: info}
        security:
          curve:
            secret_key_file: \(dir)/\(secret)
            authorized_keys_file: \(dir)/\(authorized)
        """
    }

    static let goodFiles: [String: (text: String, mode: Int)] = [
        "daemon.key": ("\(secret)\n", 0o600),
        "authorized_keys": ("# operators\n\(client)   # laptop\n\n\(other)\n\(client)\n\(commented)\n", 0o644),
    ]

    @Test("a valid section reads both files: comments (even a commented-out key), blank lines and duplicates are fine")
    func valid() throws {
        let dir = try Self.directory(Self.goodFiles)
        let c = try parse(Self.yaml(dir))
        let curve = try #require(c.security.curve)
        #expect(curve.secretKeyFile == dir + "/daemon.key")
        #expect(curve.authorizedKeysFile == dir + "/authorized_keys")
        #expect(curve.secretKey == (try CurveSecretKey(z85: Self.secret)))
        #expect(curve.authorizedKeys.map(\.z85) == [Self.client, Self.other])
        #expect(Z85.decode(Self.commented) == nil, "no key starts with #")
        let summary = c.renderSummary()
        #expect(summary.contains("security.curve               secret_key_file \(dir)/daemon.key, authorized_keys_file \(dir)/authorized_keys (2 keys)"))
        #expect(!summary.contains(Self.secret), "the summary never shows the secret key")
        #expect(VigilConfiguration().security.curve == nil, "absent by default: no authentication")
        #expect(try parse("security:\n").security.curve == nil)
    }

    @Test("each problem with the files names the YAML key's file:line:col and says what is wrong",
          arguments: [
            // (files, secret name, authorized name, code, key path, expected text)
            ("missing secret", "nothere.key", "authorized_keys", "unreadable_file", "security.curve.secret_key_file", "nothere.key: no such file"),
            ("missing list", "daemon.key", "nothere", "unreadable_file", "security.curve.authorized_keys_file", "nothere: no such file"),
            ("wide secret", "wide.key", "authorized_keys", "insecure_permissions", "security.curve.secret_key_file",
             "wide.key: mode 0644 lets group or others read this secret key; it must be private to its owner: chmod 600"),
            ("group secret", "group.key", "authorized_keys", "insecure_permissions", "security.curve.secret_key_file", "group.key: mode 0640 lets group or others read"),
            ("bad secret", "short.key", "authorized_keys", "invalid_value", "security.curve.secret_key_file",
             "short.key:2: not a Z85 CURVE secret key: expected 40 Z85 characters, got 39"),
            ("two secrets", "two.key", "authorized_keys", "invalid_value", "security.curve.secret_key_file", "two.key:2: a second line holding text"),
            ("empty secret", "empty.key", "authorized_keys", "invalid_value", "security.curve.secret_key_file", "empty.key: no secret key in the file"),
            ("bad line", "daemon.key", "bad_keys", "invalid_value", "security.curve.authorized_keys_file",
             "bad_keys:3: not a Z85 CURVE public key: character 4 (\"~\") is not in the Z85 alphabet (also malformed: line 5)"),
            ("text after a key", "daemon.key", "trailing_keys", "invalid_value", "security.curve.authorized_keys_file",
             "trailing_keys:1: not a Z85 CURVE public key: text after the key"),
            ("writable list", "daemon.key", "writable_keys", "insecure_permissions", "security.curve.authorized_keys_file",
             "writable_keys: mode 0666 lets group or others write the list of authorized keys"),
            ("a directory", "daemon.key", ".", "unreadable_file", "security.curve.authorized_keys_file", "/.: not a regular file"),
          ])
    func fileProblems(_ name: String, _ secret: String, _ authorized: String, _ code: String, _ keyPath: String, _ text: String) throws {
        var files = Self.goodFiles
        files["wide.key"] = ("\(Self.secret)\n", 0o644)
        files["group.key"] = ("\(Self.secret)\n", 0o640)
        files["short.key"] = ("# daemon\n\(Self.secret.dropLast())\n", 0o600)
        files["two.key"] = ("\(Self.secret)\n\(Self.secret)\n", 0o600)
        files["empty.key"] = ("# nothing\n\n", 0o600)
        files["bad_keys"] = ("\(Self.client)\n# fine\nbad~\(Self.other.dropFirst(4))\n\(Self.other)\nalso bad\n", 0o644)
        files["trailing_keys"] = ("\(Self.client) laptop\n", 0o644)
        files["writable_keys"] = ("\(Self.client)\n", 0o666)
        let dir = try Self.directory(files)
        let found = problems(Self.yaml(dir, secret: secret, authorized: authorized))
        #expect(found.count == 1, "\(name): \(found)")
        let p = try #require(found.first)
        #expect(p.code.description == code, "\(name): \(p)")
        #expect(p.keyPath == keyPath, "\(name)")
        #expect(p.line == (keyPath.hasSuffix("secret_key_file") ? 4 : 5) && p.column == (keyPath.hasSuffix("secret_key_file") ? 22 : 27), "\(name): \(p)")
        #expect(p.description.hasPrefix("test.yaml:\(p.line):\(p.column): \(keyPath): \(dir)/"), "\(name): \(p)")
        #expect(p.description.contains(text), "\(name): \(p)")
    }

    @Test("both files are required, nothing else is known, and curve: with nothing is not \"no CURVE\"")
    func sectionShape() throws {
        let missing = problems("security:\n  curve:\n")
        #expect(missing.map(\.keyPath) == ["security.curve.secret_key_file", "security.curve.authorized_keys_file"])
        #expect(missing.allSatisfy { $0.code == .missingKey })
        #expect(missing.first?.message.contains("vigil keygen --out") == true)
        let dir = try Self.directory(Self.goodFiles)
        let unknown = problems(Self.yaml(dir) + "\n    public_key_file: x\n")
        #expect(unknown.map(\.code) == [.unknownKey], "\(unknown)")
        let top = problems("security:\n  curv: {}\n")
        #expect(top.first?.message.contains("did you mean \"curve\"") == true, "\(top)")
        let empty = problems("security:\n  curve:\n    secret_key_file: \"\"\n    authorized_keys_file: \(dir)/authorized_keys\n")
        #expect(empty.map(\.keyPath) == ["security.curve.secret_key_file"], "\(empty)")
    }

    @Test("an empty authorized-keys file is valid: it admits nobody")
    func emptyList() throws {
        var files = Self.goodFiles
        files["authorized_keys"] = ("# nobody yet\n", 0o600)
        let dir = try Self.directory(files)
        #expect(try parse(Self.yaml(dir)).security.curve?.authorizedKeys == [])
    }

    @Test("server_key: a connecting subscription's publisher key, required with security.curve, refused for bind or without it")
    func serverKey() throws {
        let dir = try Self.directory(Self.goodFiles)
        let withKey = """
            ingest:
              subscribe:
                - {endpoint: "tcp://10.0.0.5:5556", server_key: "\(Self.other)"}
            """
        let c = try parse(withKey + "\n" + Self.yaml(dir))
        #expect(c.ingest.subscribe.first?.serverKey?.z85 == Self.other)
        #expect(c.renderSummary().contains("sub connect tcp://10.0.0.5:5556, all topics, server_key \(Self.other)"))

        let noCurve = problems(withKey)
        #expect(noCurve.map(\.keyPath) == ["ingest.subscribe[0].server_key"], "\(noCurve)")
        #expect(noCurve.first?.code == .inconsistent && noCurve.first?.message.contains("needs security.curve") == true)

        let bound = problems("ingest:\n  subscribe:\n    - {endpoint: \"tcp://*:5557\", mode: bind, server_key: \"\(Self.other)\"}\n" + Self.yaml(dir))
        #expect(bound.first?.code == .inconsistent && bound.first?.message.contains("mode: connect") == true, "\(bound)")

        let without = problems("ingest:\n  subscribe:\n    - {endpoint: \"tcp://10.0.0.5:5556\"}\n" + Self.yaml(dir))
        #expect(without.map(\.keyPath) == ["ingest.subscribe[0].server_key"], "\(without)")
        #expect(without.first?.code == .missingKey && without.first?.line == 3)

        let malformed = problems("ingest:\n  subscribe:\n    - {endpoint: \"tcp://10.0.0.5:5556\", server_key: abc}\n")
        #expect(malformed.first?.message == "not a Z85 CURVE public key: expected 40 Z85 characters, got 3", "\(malformed)")
        #expect(malformed.first?.line == 3 && malformed.first?.column == 53)

        // A bound subscription needs no server_key: it is a CURVE server like the other bound sockets.
        #expect(try parse("ingest:\n  subscribe:\n    - {endpoint: \"tcp://*:5557\", mode: bind}\n" + Self.yaml(dir)).ingest.subscribe.count == 1)
    }

    @Test("the commented example in the shipped Configs/vigil.yaml is valid with its files in place")
    func shippedExample() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Configs/vigil.yaml").path
        let lines = try String(contentsOfFile: shipped, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "# security:"))
        let block = lines[start...].prefix { $0.hasPrefix("#") }.map { String($0.dropFirst(2)) }
        #expect(block.count == 4, "\(block)")
        let dir = try Self.directory(Self.goodFiles)
        let yaml = block.joined(separator: "\n")
            .replacingOccurrences(of: "/etc/vigil/vigild.key", with: dir + "/daemon.key")
            .replacingOccurrences(of: "/etc/vigil/authorized_keys", with: dir + "/authorized_keys")
        #expect(try parse(yaml).security.curve?.authorizedKeys.count == 2)
    }

    @Test("key files read directly: a public key file, a secret key at 0400")
    func keyFiles() throws {
        let dir = try Self.directory(["a.pub": ("\(Self.client)\n", 0o644), "a.key": ("\(Self.secret)\n", 0o400)])
        #expect(try CurveKeyFile.readPublicKey(path: dir + "/a.pub").z85 == Self.client)
        #expect(try CurveKeyFile.readSecretKey(path: dir + "/a.key").z85 == Self.secret)
        let e = #expect(throws: KeyFileError.self) { try CurveKeyFile.readSecretKey(path: dir + "/a.pub") }
        #expect(e?.code == .insecurePermissions)
        let crlf = try CurveKeyFile.parseAuthorizedKeys("\(Self.client)\r\n\(Self.other)\r\n", path: "k")
        #expect(crlf.map(\.z85) == [Self.client, Self.other], "Windows line ends")
    }
}
