// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore

@Suite("History request and reply codec")
struct HistoryProtocolTests {
    @Test("valid requests parse to what they say", arguments: [
        (#"{"since_seq": 0}"#, HistoryRequest(.afterSeq(0))),
        (#"{"since_seq":18446744073709551615}"#, HistoryRequest(.afterSeq(.max))),
        (#" { "since_seq" : 42 , "limit" : 7 } "#, HistoryRequest(.afterSeq(42), limit: 7)),
        (#"{"since": 1732500000123456789}"#, HistoryRequest(.sinceTimestamp(1_732_500_000_123_456_789))),
        (#"{"since": -5}"#, HistoryRequest(.sinceTimestamp(-5))),
        (#"{"since": "2024-11-25T02:00:00.5Z"}"#, HistoryRequest(.sinceTimestamp(1_732_500_000_500_000_000))),
        (#"{"limit": 100, "since": "2024-11-25T03:00:00+01:00"}"#, HistoryRequest(.sinceTimestamp(1_732_500_000_000_000_000), limit: 100)),
        (#"{"since_seq": 1, "limit": 10000}"#, HistoryRequest(.afterSeq(1), limit: 10_000)),
        ("{\"\\u0073ince_seq\": 3}", HistoryRequest(.afterSeq(3))),
    ])
    func valid(_ text: String, _ expected: HistoryRequest) throws {
        #expect(try HistoryRequest(parsing: Array(text.utf8), maxLimit: 10_000) == expected)
    }

    @Test("every bad request is refused with its own code and a message naming the problem", arguments: [
        ("", HistoryError.Code.malformed, "empty request"),
        ("not json", .malformed, "expected {"),
        (#"[{"since_seq": 1}]"#, .malformed, "expected {"),
        (#"{"since_seq": 1"#, .malformed, "unterminated object"),
        (#"{"since_seq": 1} x"#, .malformed, "text after the object"),
        (#"{"since_seq": 01}"#, .malformed, "expected , or }"),
        (#"{since_seq: 1}"#, .malformed, "expected a key in quotes"),
        (#"{"since_seq": 1, "since_seq": 2}"#, .duplicateKey, "more than once"),
        (#"{}"#, .missingKey, "needs since_seq"),
        (#"{"limit": 5}"#, .missingKey, "needs since_seq"),
        (#"{"since_seq": 1, "since": 5}"#, .conflictingKeys, "not both"),
        (#"{"since_seq": 1, "follow": true}"#, .unknownKey, "unknown key \"follow\""),
        (#"{"since_seq": true}"#, .wrongType, "since_seq must be a non-negative integer, got true"),
        (#"{"since_seq": false}"#, .wrongType, "got false"),
        (#"{"since_seq": null}"#, .wrongType, "got null"),
        (#"{"since_seq": "5"}"#, .wrongType, "got \"5\""),
        (#"{"since_seq": 1.0}"#, .wrongType, "got 1.0"),
        (#"{"since_seq": 1e3}"#, .wrongType, "got 1e3"),
        (#"{"since_seq": -1}"#, .wrongType, "got -1"),
        (#"{"since_seq": 18446744073709551616}"#, .wrongType, "non-negative integer"),
        (#"{"since_seq": [1]}"#, .wrongType, "got an array"),
        (#"{"since_seq": {"a": [1, "]"]}}"#, .wrongType, "got an object"),
        (#"{"since": true}"#, .wrongType, "since must be integer nanoseconds"),
        (#"{"since": 1.5}"#, .wrongType, "since must be integer nanoseconds"),
        (#"{"since": 9223372036854775808}"#, .outOfRange, "64-bit range"),
        (#"{"since": "yesterday"}"#, .invalidValue, "RFC 3339"),
        (#"{"since": "1732500000"}"#, .invalidValue, "RFC 3339"),
        (#"{"since": "2024-13-45T99:00:00Z"}"#, .invalidValue, "RFC 3339"),
        (#"{"since_seq": 1, "limit": 0}"#, .outOfRange, "limit must be an integer from 1 to 10000, got 0"),
        (#"{"since_seq": 1, "limit": -3}"#, .outOfRange, "got -3"),
        (#"{"since_seq": 1, "limit": 10001}"#, .outOfRange, "got 10001"),
        (#"{"since_seq": 1, "limit": true}"#, .wrongType, "limit must be an integer"),
        (#"{"since_seq": 1, "limit": "5"}"#, .wrongType, "limit must be an integer"),
        ("{\"since_seq\": 1, \"x\": \"\\ud800\"}", .malformed, "unpaired surrogate"),
        ("{\"since_seq\": 1, \"x\": \"a\u{1}\"}", .malformed, "control character"),
    ])
    func invalid(_ text: String, _ code: HistoryError.Code, _ fragment: String) {
        let error = #expect(throws: HistoryError.self) { try HistoryRequest(parsing: Array(text.utf8), maxLimit: 10_000) }
        #expect(error?.code == code, "\(text): \(String(describing: error))")
        #expect(error?.message.contains(fragment) == true, "\(text): \(error?.message ?? "")")
    }

    @Test("a deeply nested value is refused without recursion")
    func deepNesting() {
        let text = #"{"since_seq": "# + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        let error = #expect(throws: HistoryError.self) { try HistoryRequest(parsing: Array(text.utf8), maxLimit: 10) }
        #expect(error?.code == .wrongType)
    }

    @Test("encoding a request and parsing it back gives the same request", arguments: [
        HistoryRequest(.afterSeq(0)), HistoryRequest(.afterSeq(.max), limit: 1),
        HistoryRequest(.sinceTimestamp(-1)), HistoryRequest(.sinceTimestamp(.max), limit: 500),
    ])
    func requestRoundTrip(_ request: HistoryRequest) throws {
        #expect(try HistoryRequest(parsing: Array(request.json.utf8), maxLimit: 10_000) == request)
        // Foundation reads the same text as the same values (an independent JSON reader).
        let object = try #require(try JSONSerialization.jsonObject(with: Data(request.json.utf8)) as? [String: Any])
        #expect(Set(object.keys).isSubset(of: Set(HistoryRequest.keys)))
    }

    @Test("a reply encoded by the server decodes to the same alerts and positions")
    func replyRoundTrip() throws {
        let ts: Int64 = 1_732_500_000_123_456_789
        let event = AlertEvent(sensor: 0, detector: .zscore, event: .raised, severity: .critical, score: 9.5, threshold: 5,
                               value: 3.25, timestamp: ts, raisedAt: ts, evidence: .zscore(mean: 1, deviation: 0.25, z: 9.5))
        let alerts = [AlertRecord(seq: 7, event: event, sensorName: "plant1/\"pump\"/vibration"),
                      AlertRecord(seq: 8, event: event, sensorName: "plant1/pump8")]
        let reply = HistoryReply(alerts: alerts, lastSeq: 8, headSeq: 12, more: true)
        let decoded = try JSONDecoder().decode(HistoryResponse.self, from: Data(reply.json.utf8))
        #expect(decoded == .page(reply))
        let empty = HistoryReply(alerts: [], lastSeq: 3, headSeq: 3, more: false)
        #expect(try JSONDecoder().decode(HistoryResponse.self, from: Data(empty.json.utf8)) == .page(empty))
    }

    @Test("an error reply decodes to the same error; an unknown code reads as a server error")
    func errorRoundTrip() throws {
        let error = HistoryError(.outOfRange, "limit must be an integer from 1 to 10, got \"0\"")
        #expect(try JSONDecoder().decode(HistoryResponse.self, from: Data(error.json.utf8)) == .failure(error))
        let future = #"{"error": "something new", "code": "from_the_future"}"#
        #expect(try JSONDecoder().decode(HistoryResponse.self, from: Data(future.utf8)) == .failure(HistoryError(.server, "something new")))
    }
}
