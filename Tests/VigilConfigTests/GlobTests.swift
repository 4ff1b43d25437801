// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilDetectors
import VigilConfig

@Suite("Glob")
struct GlobTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pattern: String
        var name: String
        var matches: Bool
        var testDescription: String { "\(pattern) \(matches ? "~" : "!~") \(name)" }
    }

    static let cases: [Case] = [
        // Literals.
        .init(pattern: "plant1/pump7/vibration", name: "plant1/pump7/vibration", matches: true),
        .init(pattern: "plant1/pump7/vibration", name: "plant1/pump7/vibration2", matches: false),
        .init(pattern: "plant1/pump7/vibration", name: "plant1/pump7/vibratio", matches: false),
        // * stays within one segment.
        .init(pattern: "plant1/*/vibration", name: "plant1/pump7/vibration", matches: true),
        .init(pattern: "plant1/*/vibration", name: "plant1/a/b/vibration", matches: false),
        .init(pattern: "plant1/*/vibration", name: "plant1/vibration", matches: false),
        .init(pattern: "plant1/pump*", name: "plant1/pump", matches: true),
        .init(pattern: "plant1/pump*", name: "plant1/pump7", matches: true),
        .init(pattern: "plant1/pump*", name: "plant1/pump7/x", matches: false),
        .init(pattern: "*", name: "temperature", matches: true),
        .init(pattern: "*", name: "a/b", matches: false),
        .init(pattern: "*/*", name: "a/b", matches: true),
        .init(pattern: "*a*b", name: "xxaxxaxxb", matches: true),
        .init(pattern: "*a*b", name: "xxaxxaxxbc", matches: false),
        // ** crosses segments.
        .init(pattern: "plant1/**", name: "plant1/a/b/c", matches: true),
        .init(pattern: "plant1/**", name: "plant1/a", matches: true),
        .init(pattern: "plant1/**", name: "plant1", matches: false),
        .init(pattern: "plant2/**", name: "plant1/a", matches: false),
        .init(pattern: "**", name: "anything/at/all", matches: true),
        .init(pattern: "**/vibration", name: "vibration", matches: true),
        .init(pattern: "**/vibration", name: "plant1/pump7/vibration", matches: true),
        .init(pattern: "**/vibration", name: "plant1/pump7/vibration/x", matches: false),
        .init(pattern: "**/vibration", name: "plant1/xvibration", matches: false),
        .init(pattern: "plant1/**/vibration", name: "plant1/vibration", matches: true),
        .init(pattern: "plant1/**/vibration", name: "plant1/a/b/vibration", matches: true),
        .init(pattern: "plant1/**/vibration", name: "plant1/avibration", matches: false),
        .init(pattern: "plant1/**/vibration", name: "plant2/a/vibration", matches: false),
        .init(pattern: "plant1/p**n", name: "plant1/pump7/vibration", matches: true),
        // ? is one character, never /.
        .init(pattern: "plant?/x", name: "plant1/x", matches: true),
        .init(pattern: "plant?/x", name: "plant12/x", matches: false),
        .init(pattern: "plant?/x", name: "plant/x", matches: false),
        .init(pattern: "a?b", name: "a/b", matches: false),
        .init(pattern: "caf?", name: "café", matches: true),
        // Classes.
        .init(pattern: "pump[0-9]", name: "pump7", matches: true),
        .init(pattern: "pump[0-9]", name: "pumpx", matches: false),
        .init(pattern: "pump[abc]", name: "pumpb", matches: true),
        .init(pattern: "pump[!abc]", name: "pumpb", matches: false),
        .init(pattern: "pump[!abc]", name: "pumpd", matches: true),
        .init(pattern: "pump[^0-9]", name: "pump7", matches: false),
        .init(pattern: "a[!x]b", name: "a/b", matches: false),
        .init(pattern: "x[]]", name: "x]", matches: true),
        .init(pattern: "x[a-]", name: "x-", matches: true),
        // Escapes.
        .init(pattern: "a\\*", name: "a*", matches: true),
        .init(pattern: "a\\*", name: "ab", matches: false),
        .init(pattern: "a\\[1]", name: "a[1]", matches: true),
        // Empty names.
        .init(pattern: "*", name: "", matches: true),
        .init(pattern: "?", name: "", matches: false),
    ]

    @Test(arguments: cases)
    func matching(_ c: Case) throws {
        let glob = try Glob(c.pattern)
        #expect(glob.matches(c.name) == c.matches)
    }

    /// Against a simple recursive reference over random patterns and names.
    @Test func agreesWithReference() throws {
        var rng = Xoshiro256StarStar(seed: 7)
        let alphabet: [Character] = ["a", "b", "/"]
        let patternAlphabet = ["a", "b", "/", "*", "?", "**", "[ab]", "[!a]"]
        for _ in 0..<3000 {
            let pattern = (0..<Int(rng.next() % 6 + 1)).map { _ in patternAlphabet[Int(rng.next() % 8)] }.joined()
            guard let glob = try? Glob(pattern) else { continue }
            let name = String((0..<Int(rng.next() % 7)).map { _ in alphabet[Int(rng.next() % 3)] })
            #expect(glob.matches(name) == referenceMatch(Array(pattern), Array(name)), "\(pattern) vs \(name)")
        }
    }

    @Test(arguments: [
        ("", GlobError.Code.empty),
        ("a***", .tooManyStars),
        ("pump[0-9", .unterminatedClass),
        ("pump[]", .unterminatedClass),
        ("pump[9-0]", .reversedRange),
        ("pump\\", .trailingEscape),
        ("a[/]", .slashInClass),
        (String(repeating: "a", count: 200), .tooLong),
    ])
    func invalid(_ pattern: String, _ code: GlobError.Code) {
        #expect(throws: GlobError.self) { try Glob(pattern) }
        do {
            _ = try Glob(pattern)
        } catch {
            #expect(error.code == code)
        }
    }

    @Test func errorDescriptionNamesOffset() {
        #expect(throws: GlobError(.unterminatedClass, offset: 4)) { try Glob("pump[0-9") }
        #expect(GlobError(.unterminatedClass, offset: 4).description.contains("offset 4"))
    }
}

/// Backtracking reference for patterns over `a`, `b`, `/`, `*`, `**`, `?`, `[ab]`, `[!a]`
/// (with `**/` at a segment start also matching no segments).
private func referenceMatch(_ p: [Character], _ s: [Character]) -> Bool {
    func m(_ i: Int, _ j: Int) -> Bool {
        if i == p.count { return j == s.count }
        switch p[i] {
        case "*":
            if i + 1 < p.count, p[i + 1] == "*" {
                let segment = (i == 0 || p[i - 1] == "/") && i + 2 < p.count && p[i + 2] == "/"
                if segment {
                    if m(i + 3, j) { return true }
                    for k in j..<s.count where s[k] == "/" && m(i + 3, k + 1) { return true }
                    return false
                }
                for k in j...s.count where m(i + 2, k) { return true }
                return false
            }
            var k = j
            while true {
                if m(i + 1, k) { return true }
                if k == s.count || s[k] == "/" { return false }
                k += 1
            }
        case "?":
            return j < s.count && s[j] != "/" && m(i + 1, j + 1)
        case "[":
            let close = p[(i + 1)...].firstIndex(of: "]")!
            let body = p[(i + 1)..<close]
            guard j < s.count, s[j] != "/" else { return false }
            let ok = body.first == "!" ? !body.dropFirst().contains(s[j]) : body.contains(s[j])
            return ok && m(close + 1, j + 1)
        default:
            return j < s.count && s[j] == p[i] && m(i + 1, j + 1)
        }
    }
    return m(0, 0)
}
