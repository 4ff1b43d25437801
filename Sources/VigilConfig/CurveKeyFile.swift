// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a CURVE key file cannot be used: the file, the line (0 when the whole file is at fault)
/// and what is wrong.
public struct KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case missing, unreadable, insecurePermissions = "insecure_permissions", malformed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The file does not exist.
        public static let missing = Code(.missing)
        /// It cannot be opened or read, is not a regular file, or is too large.
        public static let unreadable = Code(.unreadable)
        /// A secret key file that group or others may read or write; an authorized-keys file
        /// that group or others may write.
        public static let insecurePermissions = Code(.insecurePermissions)
        /// A line that is neither a key nor a comment, or the wrong number of keys.
        public static let malformed = Code(.malformed)
        /// The code's snake_case name.
        public var description: String { value.rawValue }
    }

    /// What is wrong.
    public var code: Code
    /// The file as named.
    public var path: String
    /// 1-based line of a malformed line, 0 for the whole file.
    public var line: Int
    /// For operators.
    public var message: String

    /// A problem with `path` (at `line`, or the whole file when 0).
    public init(code: Code, path: String, line: Int = 0, message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.message = message
    }

    /// `path:line: message` (`path: message` for the whole file).
    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

/// Reads CURVE key files: a secret key (the daemon's, or a client's), a public key, and the
/// authorized-keys list of client public keys.
///
/// Format, the same for all three: UTF-8 lines; a key is 40 Z85 characters, alone on its line
/// or followed by blanks and a `#` comment; blank lines and lines starting with `#` are ignored
/// (`#` is a Z85 digit, but no key starts with it: a group of five beginning with `#` or `$`
/// would exceed 2³² − 1). `vigil keygen --out PATH` writes `PATH.key` and `PATH.pub` in this format, so a
/// `.pub` file can be appended to an authorized-keys file as it is.
///
/// Threading: pure functions of the file system; call from any thread.
public enum CurveKeyFile {
    /// Files larger than this are refused (an authorized-keys file of 1 MiB holds ~25,000 keys).
    public static let maximumBytes = 1 << 20

    /// The one secret key in `path`. The file must be a regular file that neither group nor
    /// others may read or write (mode 0600 or 0400, as `vigil keygen --out` writes it).
    public static func readSecretKey(path: String) throws(KeyFileError) -> CurveSecretKey {
        let (text, mode) = try contents(of: path)
        if mode & 0o077 != 0 {
            throw KeyFileError(code: .insecurePermissions, path: path,
                               message: "mode \(octal(mode)) lets group or others \(mode & 0o044 != 0 ? "read" : "write") this secret key; it must be private to its owner: chmod 600 \(path)")
        }
        let (line, text1) = try single(text, path: path, what: "secret key")
        do throws(CurveKeyError) {
            return try CurveSecretKey(z85: text1)
        } catch {
            throw KeyFileError(code: .malformed, path: path, line: line, message: "not a Z85 CURVE secret key: \(error.message)")
        }
    }

    /// The one public key in `path` (a `.pub` file).
    public static func readPublicKey(path: String) throws(KeyFileError) -> CurveKey {
        let (text, _) = try contents(of: path)
        let (line, key) = try single(text, path: path, what: "public key")
        do throws(CurveKeyError) {
            return try CurveKey(z85: key)
        } catch {
            throw KeyFileError(code: .malformed, path: path, line: line, message: "not a Z85 CURVE public key: \(error.message)")
        }
    }

    /// The client public keys in the authorized-keys file `path`, in file order, each once (a
    /// key listed twice is fine). The file must not be writable by group or others (whoever can
    /// write it can let themselves in). An empty list is valid: it admits nobody.
    public static func readAuthorizedKeys(path: String) throws(KeyFileError) -> [CurveKey] {
        let (text, mode) = try contents(of: path)
        if mode & 0o022 != 0 {
            throw KeyFileError(code: .insecurePermissions, path: path,
                               message: "mode \(octal(mode)) lets group or others write the list of authorized keys; chmod 644 \(path)")
        }
        return try parseAuthorizedKeys(text, path: path)
    }

    /// The keys of authorized-keys text (see the type's format); `path` names it in errors. A
    /// malformed line is named by its number (and any further malformed lines are counted).
    public static func parseAuthorizedKeys(_ text: String, path: String) throws(KeyFileError) -> [CurveKey] {
        var keys: [CurveKey] = []
        var seen: Set<CurveKey> = []
        var firstProblem: KeyFileError?
        var badLines: [Int] = []
        for (number, candidate, extra) in keyLines(text) {
            do throws(CurveKeyError) {
                let key = try CurveKey(z85: candidate)
                guard !extra else {
                    throw CurveKeyError(code: .character, message: "text after the key (one key a line, then optionally a # comment)")
                }
                if seen.insert(key).inserted { keys.append(key) }
            } catch {
                badLines.append(number)
                if firstProblem == nil {
                    firstProblem = KeyFileError(code: .malformed, path: path, line: number,
                                                message: "not a Z85 CURVE public key: \(error.message)")
                }
            }
        }
        if var problem = firstProblem {
            if badLines.count > 1 {
                problem.message += " (also malformed: line\(badLines.count > 2 ? "s" : "") \(badLines.dropFirst().map(String.init).joined(separator: ", ")))"
            }
            throw problem
        }
        return keys
    }

    /// The lines of `text` that should hold a key, with their 1-based numbers: comments and
    /// blank lines left out, a trailing `# comment` and surrounding blanks removed. `extra` tells
    /// that more than a comment follows the first word (a malformed line).
    static func keyLines(_ text: String) -> [(line: Int, text: Substring, extra: Bool)] {
        var out: [(Int, Substring, Bool)] = []
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.trimmingBlanks
            if line.isEmpty || line.hasPrefix("#") { continue }
            // The first word; what follows it must be a comment.
            let word = line.prefix { $0 != " " && $0 != "\t" }
            let rest = line.dropFirst(word.count).trimmingBlanks
            out.append((i + 1, word, !(rest.isEmpty || rest.hasPrefix("#"))))
        }
        return out
    }

    /// The one key line of a secret or public key file.
    private static func single(_ text: String, path: String, what: String) throws(KeyFileError) -> (Int, Substring) {
        let lines = keyLines(text)
        if let bad = lines.first(where: \.extra) {
            throw KeyFileError(code: .malformed, path: path, line: bad.line,
                               message: "text after the key (a \(what) file holds one key, then optionally a # comment)")
        }
        guard let first = lines.first else {
            throw KeyFileError(code: .malformed, path: path, message: "no \(what) in the file (expected one line of 40 Z85 characters)")
        }
        guard lines.count == 1 else {
            throw KeyFileError(code: .malformed, path: path, line: lines[1].line,
                               message: "a second line holding text; a \(what) file holds exactly one key (line \(first.line))")
        }
        return (first.line, first.text)
    }

    /// The text and permission bits of the regular file `path`, checked on the open descriptor.
    private static func contents(of path: String) throws(KeyFileError) -> (String, mode_t) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw KeyFileError(code: .missing, path: path, message: "no such file") }
            throw KeyFileError(code: .unreadable, path: path, message: "cannot open: \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw KeyFileError(code: .unreadable, path: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw KeyFileError(code: .unreadable, path: path, message: "not a regular file")
        }
        guard Int(st.st_size) <= maximumBytes else {
            throw KeyFileError(code: .unreadable, path: path, message: "larger than \(maximumBytes) bytes: not a key file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyFileError(code: .unreadable, path: path, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > maximumBytes {
                throw KeyFileError(code: .unreadable, path: path, message: "larger than \(maximumBytes) bytes: not a key file")
            }
        }
        return (String(decoding: bytes, as: UTF8.self), st.st_mode & 0o7777)
    }

    private static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate var trimmingBlanks: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !blank($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !blank($0) })!
        return self[start...end]
    }
}
