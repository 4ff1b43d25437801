// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore

@Suite("Z85 and CURVE keys")
struct CurveKeyTests {
    @Test("Z85 matches RFC 32's test vector and round-trips every byte value")
    func z85() throws {
        // ZeroMQ RFC 32: these 8 bytes are "HelloWorld".
        let vector: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(vector) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == vector)
        let all = (0...255).map(UInt8.init)
        #expect(Z85.decode(Z85.encode(all)) == all)
        #expect(Z85.encode([0, 0, 0, 0]) == "00000")
        #expect(Z85.encode([0xFF, 0xFF, 0xFF, 0xFF]) == "%nSc0")
    }

    @Test("Z85 refuses a length that is not a multiple of 5, a character outside the alphabet, a group above 2^32 - 1",
          arguments: ["Hello", "HelloWorl", "Hello World", "%nSc1", "#####", "Hell\u{e9}World"])
    func z85Refuses(_ text: String) {
        if text == "Hello" {
            #expect(Z85.decode(text) != nil, "a whole group decodes")
        } else {
            #expect(Z85.decode(text) == nil, "\(text)")
        }
    }

    @Test("a public key is 40 Z85 characters; each problem is named")
    func publicKey() throws {
        let z85 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  // the public key of ZeroMQ's curve example
        let key = try CurveKey(z85: z85)
        #expect(key.bytes.count == 32)
        #expect(key.z85 == z85)
        #expect("\(key)" == z85, "public keys print as themselves")
        #expect(CurveKey(bytes: key.bytes) == key)
        #expect(CurveKey(bytes: [1, 2, 3]) == nil)

        let short = #expect(throws: CurveKeyError.self) { try CurveKey(z85: z85.dropLast()) }
        #expect(short?.code == .length)
        #expect(short?.message == "expected 40 Z85 characters, got 39")
        let spaced = #expect(throws: CurveKeyError.self) { try CurveKey(z85: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8] f7") }
        #expect(spaced?.code == .character)
        #expect(spaced?.message == "character 38 (a space) is not in the Z85 alphabet")
        let quote = #expect(throws: CurveKeyError.self) { try CurveKey(z85: "\"q:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7") }
        #expect(quote?.message.contains("character 1 (\"\"\")") == true)
        let big = #expect(throws: CurveKeyError.self) { try CurveKey(z85: "%nSc1" + z85.dropFirst(5)) }
        #expect(big?.code == .range)
    }

    @Test("a secret key never prints itself")
    func secretKey() throws {
        let z85 = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"  // the secret key of ZeroMQ's curve example
        let secret = try CurveSecretKey(z85: z85)
        #expect(secret.z85 == z85)
        #expect("\(secret)" == "<secret key>")
        #expect(String(reflecting: secret) == "<secret key>")
        #expect(!"\([secret])".contains(z85))
    }
}
