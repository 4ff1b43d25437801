// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore

@Suite("Ingest decoder")
struct IngestDecoderTests {
    func decoder(limit: Int = 100) -> IngestDecoder {
        IngestDecoder(registry: SensorRegistry(limit: limit), drops: DropCounters(), maxMessageBytes: 4096)
    }

    func decode(_ d: inout IngestDecoder, _ json: String, topic: String? = nil, now: Int64 = 7) -> [Sample] {
        d.decode(topic: topic.map { Array($0.utf8) }, payload: Array(json.utf8), now: now)
    }

    @Test("one sample, with the sensor in the payload")
    func single() {
        var d = decoder()
        let out = decode(&d, #"{"sensor": "plant1/pump7/vibration", "ts": 1732500000123456789, "value": 0.42}"#)
        #expect(out == [Sample(sensor: 0, timestamp: 1_732_500_000_123_456_789, value: 0.42)])
        #expect(d.registry.name(of: 0) == "plant1/pump7/vibration")
    }

    @Test("an array of samples, sensors interned once each")
    func array() {
        var d = decoder()
        let out = decode(&d, #"[{"sensor":"a","ts":1,"value":1.5},{"sensor":"b","ts":2,"value":-2e3},{"sensor":"a","ts":3,"value":0}]"#)
        #expect(out.map(\.sensor) == [0, 1, 0])
        #expect(out.map(\.value) == [1.5, -2000, 0])
        #expect(d.registry.count == 2)
    }

    @Test("a batch for one sensor, ts as integers and RFC 3339 strings")
    func batch() {
        var d = decoder()
        let out = decode(&d, #"{"sensor":"s","samples":[[1,1.0],["2024-11-25T02:00:00.5Z",2.0],[3, 3]]}"#)
        #expect(out.map(\.timestamp) == [1, 1_732_500_000_500_000_000, 3])
        #expect(out.map(\.value) == [1, 2, 3])
    }

    @Test("the topic frame names the sensor when the payload does not")
    func topic() {
        var d = decoder()
        let out = decode(&d, #"{"ts": 5, "value": 1}"#, topic: "plant2/fan")
        #expect(out.count == 1)
        #expect(d.registry.name(of: out[0].sensor) == "plant2/fan")
    }

    @Test("a missing ts takes the receive time")
    func missingTimestamp() {
        var d = decoder()
        #expect(decode(&d, #"{"sensor":"s","value":1}"#, now: 99).first?.timestamp == 99)
    }

    @Test("escaped sensor ids are unescaped")
    func escapes() {
        var d = decoder()
        let out = decode(&d, #"{"sensor":"a\/b\u00e9\"q","value":1}"#)
        #expect(d.registry.name(of: out[0].sensor) == "a/bé\"q")
    }

    @Test("numbers parse exactly", arguments: ["0.1", "1e-300", "123456789012345678901234", "-0.000001", "1.7976931348623157e308", "5e-324", "3.14159265358979323846"])
    func numbers(text: String) {
        var d = decoder()
        let out = decode(&d, "{\"sensor\":\"s\",\"value\":\(text)}")
        #expect(out.first?.value == Double(text)!)
    }

    @Test("bad input is dropped whole with a named reason", arguments: [
        ("not json", DropReason.malformedJSON),
        (#"{"sensor":"s","value":1"#, .malformedJSON),
        (#"{"sensor":"s","value":1} trailing"#, .malformedJSON),
        ("42", .wrongType),
        (#"["a"]"#, .wrongType),
        (#"{"sensor":5,"value":1}"#, .wrongType),
        (#"{"sensor":"s","value":"1"}"#, .wrongType),
        (#"{"sensor":"s","value":null}"#, .wrongType),
        (#"{"sensor":"s"}"#, .wrongType),
        (#"{"sensor":"s","samples":[[1]]}"#, .wrongType),
        (#"{"sensor":"s","samples":{}}"#, .wrongType),
        (#"{"value":1}"#, .missingSensor),
        (#"{"sensor":"","value":1}"#, .emptySensorID),
        (#"{"sensor":"s","ts":1.5,"value":1}"#, .badTimestamp),
        (#"{"sensor":"s","ts":"yesterday","value":1}"#, .badTimestamp),
        (#"{"sensor":"s","ts":99999999999999999999,"value":1}"#, .badTimestamp),
        (#"[{"sensor":"s","value":1},{"sensor":"s","value":"x"}]"#, .wrongType),
    ])
    func rejects(json: String, reason: DropReason) {
        var d = decoder()
        #expect(decode(&d, json).isEmpty, "nothing of a bad message is kept")
        #expect(d.drops.messages(reason) == 1, "\(json) → \(reason)")
        #expect(d.drops.totalMessages == 1)
        // The decoder keeps working afterwards.
        #expect(decode(&d, #"{"sensor":"ok","value":1}"#).count == 1)
    }

    @Test("NaN and infinities drop only their own sample")
    func nonFinite() {
        var d = decoder()
        let out = decode(&d, #"[{"sensor":"s","value":1},{"sensor":"s","value":NaN},{"sensor":"s","value":-Infinity},{"sensor":"s","value":1e999},{"sensor":"s","value":2}]"#)
        #expect(out.map(\.value) == [1, 2])
        #expect(d.drops.samples(.nonFiniteValue) == 3)
    }

    @Test("oversized messages are dropped before parsing")
    func oversized() {
        var d = decoder()
        let big = "{\"sensor\":\"s\",\"value\":1,\"pad\":\"" + String(repeating: "x", count: 5000) + "\"}"
        #expect(decode(&d, big).isEmpty)
        #expect(d.drops.messages(.oversizedMessage) == 1)
    }

    @Test("the sensor limit drops new sensors, not known ones")
    func sensorLimit() {
        var d = decoder(limit: 2)
        #expect(decode(&d, #"{"sensor":"a","value":1}"#).count == 1)
        #expect(decode(&d, #"{"sensor":"b","value":1}"#).count == 1)
        #expect(decode(&d, #"{"sensor":"c","value":1}"#).isEmpty)
        #expect(d.drops.messages(.sensorLimit) == 1)
        #expect(decode(&d, #"{"sensor":"a","value":2}"#).count == 1)
    }

    @Test("binary VGL1 round-trips through the encoder")
    func binaryRoundTrip() {
        var d = decoder()
        let samples: [(ts: Int64, value: Double)] = [(1, 0.5), (-2, -1e300), (Int64.max, 0)]
        let out = d.decode(topic: nil, payload: IngestEncoder.binary(sensor: "bin/s", samples: samples))
        #expect(out.map(\.timestamp) == samples.map(\.ts))
        #expect(out.map(\.value) == samples.map(\.value))
        #expect(d.registry.name(of: 0) == "bin/s")
    }

    @Test("binary with an empty id takes the topic")
    func binaryTopic() {
        var d = decoder()
        let out = d.decode(topic: Array("t/s".utf8), payload: IngestEncoder.binary(sensor: "", samples: [(1, 1)]))
        #expect(out.count == 1 && d.registry.name(of: out[0].sensor) == "t/s")
        #expect(d.decode(topic: nil, payload: IngestEncoder.binary(sensor: "", samples: [(1, 1)])).isEmpty)
        #expect(d.drops.messages(.missingSensor) == 1)
    }

    @Test("truncated and over-long binary frames are dropped")
    func binaryLengths() {
        var d = decoder()
        let good = IngestEncoder.binary(sensor: "s", samples: [(1, 1), (2, 2)])
        #expect(d.decode(topic: nil, payload: Array(good.dropLast(3))).isEmpty)
        #expect(d.decode(topic: nil, payload: Array(good.prefix(7))).isEmpty)
        #expect(d.drops.messages(.truncatedFrame) == 2)
        #expect(d.decode(topic: nil, payload: good + [0]).isEmpty)
        #expect(d.drops.messages(.overlongFrame) == 1)
        var nan = IngestEncoder.binary(sensor: "s", samples: [(1, .nan), (2, 2)])
        #expect(d.decode(topic: nil, payload: nan).count == 1)
        nan[0] = UInt8(ascii: "X")
        #expect(d.decode(topic: nil, payload: nan).isEmpty, "a bad magic is not binary, and not JSON")
        #expect(d.drops.messages(.malformedJSON) == 1)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("parses the forms of recordings and the wire", arguments: [
        ("2024-11-25T02:00:00.123456789Z", Int64(1_732_500_000_123_456_789)),
        ("2024-11-25T03:00:00+01:00", 1_732_500_000_000_000_000),
        ("2024-11-25 02:00:00", 1_732_500_000_000_000_000),
        ("2013-12-02 21:15:00", 1_386_018_900_000_000_000),
        ("2014-04-10 07:15:00.000000", 1_397_114_100_000_000_000),
        ("1732500000", 1_732_500_000_000_000_000),
        ("1732500000.25", 1_732_500_000_250_000_000),
        ("1732500000123", 1_732_500_000_123_000_000),
        ("1732500000123456789", 1_732_500_000_123_456_789),
        ("1970-01-01", 0),
    ])
    func parse(text: String, expected: Int64) {
        #expect(Timestamp.parse(text) == expected)
    }

    @Test("rejects nonsense", arguments: ["", "yesterday", "9999-12-31T00:00:00Z", "99999999999.5", "99999999999999", "2024-13-01", "2024-02-30", "2024-11-25T25:00:00Z", "12:00", "2024-11-25T02:00:00Q"])
    func reject(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test("formats RFC 3339 with nanoseconds and round-trips")
    func format() {
        #expect(Timestamp.rfc3339(1_732_500_000_123_456_789) == "2024-11-25T02:00:00.123456789Z")
        #expect(Timestamp.rfc3339(-1) == "1969-12-31T23:59:59.999999999Z")
        for ns in [Int64(0), 951_782_400_000_000_001, 4_102_444_800_000_000_000] {
            #expect(Timestamp.parse(Timestamp.rfc3339(ns)) == ns)
        }
    }
}

@Suite("Sensor registry")
struct SensorRegistryTests {
    @Test("interns densely and finds again after growth")
    func growth() {
        let r = SensorRegistry(limit: 100_000)
        for i in 0..<50_000 { #expect(r.intern("s\(i)") == UInt32(i)) }
        for i in stride(from: 0, to: 50_000, by: 997) { #expect(r.intern("s\(i)") == UInt32(i)) }
        #expect(r.count == 50_000)
        #expect(r.index(of: "s123") == 123)
        #expect(r.index(of: "nope") == nil)
        #expect(r.name(of: 4242) == "s4242")
    }
}

@Suite("Alert JSON")
struct AlertRecordTests {
    @Test("the brief's wire form, keys in order, escaped, and decodable")
    func json() throws {
        let event = AlertEvent(sensor: 0, detector: .zscore, event: .raised, severity: .critical, score: 9.5,
                               threshold: 5, value: 3.1, timestamp: 1_732_500_000_123_456_789,
                               raisedAt: 1_732_500_000_123_456_789, evidence: .zscore(mean: 1, deviation: 0.25, z: 9.5))
        let record = AlertRecord(seq: 1042, event: event, sensorName: "plant1/\"pump7\"")
        #expect(record.json == #"{"seq":1042,"id":"plant1/\"pump7\":zscore:1732500000123456789","event":"raised","severity":"critical","sensor":"plant1/\"pump7\"","detector":"zscore","score":9.5,"threshold":5,"value":3.1,"ts":1732500000123456789,"time":"2024-11-25T02:00:00.123456789Z","context":{"deviation":0.25,"mean":1,"z":9.5}}"#)
        #expect(record.topic == "alert/plant1/\"pump7\"")
    }
}

@Suite("Ingest decoder under random input")
struct IngestDecoderFuzzTests {
    @Test("mutated and truncated messages never crash and never leak partial samples")
    func mutations() {
        var rng = SystemRandomNumberGenerator()
        var d = IngestDecoder(registry: SensorRegistry(limit: 10_000), drops: DropCounters(), maxMessageBytes: 1 << 20)
        let seeds = [
            #"{"sensor":"a/b","ts":1732500000123456789,"value":0.42}"#,
            #"[{"sensor":"a","ts":"2024-11-25T02:00:00Z","value":1e3},{"sensor":"b","value":-2}]"#,
            #"{"sensor":"s","samples":[[1,1.0],[2,2.5],[3,-3e-3]]}"#,
        ].map { Array($0.utf8) } + [IngestEncoder.binary(sensor: "bin", samples: [(1, 1), (2, 2)])]
        let alphabet = Array(#"{}[]",:0123456789.eE-+tfnNaIuly\ "#.utf8)
        for _ in 0..<20_000 {
            var m = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where !m.isEmpty: m[Int.random(in: 0..<m.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                case 1 where !m.isEmpty: m.removeSubrange(Int.random(in: 0..<m.count, using: &rng)...)
                default: m.insert(alphabet.randomElement(using: &rng)!, at: Int.random(in: 0...m.count, using: &rng))
                }
            }
            let out = d.decode(topic: nil, payload: m)
            #expect(out.allSatisfy { $0.value.isFinite })
        }
        // Deep nesting is rejected by structure, not by the stack.
        let deep = Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        #expect(d.decode(topic: nil, payload: deep).isEmpty)
    }
}
