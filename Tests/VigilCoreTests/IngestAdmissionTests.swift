// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors

/// What ingest lets in: a sensor only with an accepted sample, and samples only with timestamps
/// it can trust (`TimestampPolicy`).
@Suite("Ingest admission")
struct IngestAdmissionTests {
    static let second = Timestamp.nanosecondsPerSecond
    static let now: Int64 = 1_764_000_000 * second

    func decoder(limit: Int = 100, policy: TimestampPolicy = .standard) -> IngestDecoder {
        IngestDecoder(registry: SensorRegistry(limit: limit), drops: DropCounters(), maxMessageBytes: 1 << 20,
                      timestampPolicy: policy)
    }

    func decode(_ d: inout IngestDecoder, _ json: String, topic: String? = nil, now: Int64 = Self.now) -> [Sample] {
        d.decode(topic: topic.map { Array($0.utf8) }, payload: Array(json.utf8), now: now)
    }

    func binary(_ d: inout IngestDecoder, _ sensor: String, _ samples: [(ts: Int64, value: Double)], now: Int64 = Self.now) -> [Sample] {
        d.decode(topic: nil, payload: IngestEncoder.binary(sensor: sensor, samples: samples), now: now)
    }

    // MARK: Registry hygiene

    @Test("a malformed array naming new sensors interns none of them (the issue's junk flood)")
    func malformedArraysInternNothing() {
        var d = decoder(limit: 100_000)
        for k in 0..<20_000 {
            let junk = "[{\"sensor\":\"junk/\(k)\",\"ts\":\(Self.now),\"value\":1},{\"sensor\":\"junk/\(k)x\",\"value\":" + "}]"
            #expect(decode(&d, junk).isEmpty)
        }
        #expect(d.registry.count == 0 && d.registry.liveCount == 0, "no junk name was interned")
        #expect(d.drops.messages(.malformedJSON) == 20_000)
        // A real new sensor is accepted afterwards.
        let out = decode(&d, "{\"sensor\":\"plant1/real\",\"ts\":\(Self.now),\"value\":2}")
        #expect(out.map(\.sensor) == [0])
        #expect(d.registry.name(of: 0) == "plant1/real")
    }

    @Test("a message whose samples are all rejected interns no sensor", arguments: [
        #"{"sensor":"new","value":NaN}"#,
        "{\"sensor\":\"new\",\"ts\":\(now + 7200 * second),\"value\":1}",
        #"{"sensor":"new","samples":[[1,NaN],[2,Infinity]]}"#,
        #"[{"sensor":"new","value":NaN},{"sensor":"other","value":"x"}]"#,
        #"{"sensor":"new","samples":[[1,1],[2]]}"#,
    ])
    func rejectedSamplesInternNothing(json: String) {
        var d = decoder()
        #expect(decode(&d, json).isEmpty)
        #expect(d.registry.count == 0)
        #expect(d.drops.totalMessages >= 1)
    }

    @Test("binary: a new sensor whose samples are all rejected is not interned")
    func binaryRejectedInternsNothing() {
        var d = decoder()
        #expect(binary(&d, "bin/new", [(1, .nan), (Self.now + 7200 * Self.second, 1)]).isEmpty)
        #expect(d.registry.count == 0)
        #expect(d.drops.samples(.nonFiniteValue) == 1 && d.drops.samples(.futureTimestamp) == 1)
        #expect(binary(&d, "bin/new", [(Self.now, 1)]).map(\.sensor) == [0])
    }

    @Test("the sensor limit drops only the new sensor's samples; known sensors in the same message are kept")
    func limitDropsOnlyTheNewSensor() {
        var d = decoder(limit: 2)
        #expect(decode(&d, #"[{"sensor":"a","value":1},{"sensor":"b","value":1}]"#).count == 2)
        let out = decode(&d, #"[{"sensor":"a","value":2},{"sensor":"c","value":3},{"sensor":"b","value":4},{"sensor":"c","value":5}]"#)
        #expect(out.map(\.value) == [2, 4])
        #expect(d.drops.messages(.sensorLimit) == 1 && d.drops.samples(.sensorLimit) == 2)
        #expect(d.registry.count == 2)
    }

    @Test("new ids repeated in one message are interned once, in order of first appearance")
    func pendingIDsAreDeduplicated() {
        var d = decoder(limit: 10_000)
        var items: [String] = []
        for k in 0..<3_000 { items.append("{\"sensor\":\"s\(k % 1_000)\",\"value\":\(k)}") }
        let out = decode(&d, "[" + items.joined(separator: ",") + "]")
        #expect(out.count == 3_000)
        #expect(d.registry.count == 1_000)
        #expect(out.map(\.sensor) == (0..<3_000).map { UInt32($0 % 1_000) })
        #expect((0..<1_000).allSatisfy { d.registry.name(of: UInt32($0)) == "s\($0)" })
        // And the next message starts with an empty pending set.
        #expect(decode(&d, #"{"sensor":"s5","value":1}"#).map(\.sensor) == [5])
        #expect(decode(&d, #"{"sensor":"fresh","value":1}"#).map(\.sensor) == [1_000])
    }

    @Test("an escaped new id and a topic id are pending like the others")
    func escapedAndTopicIDs() {
        var d = decoder()
        #expect(decode(&d, #"{"sensor":"a\/b","value":NaN}"#).isEmpty)
        #expect(decode(&d, #"{"value":NaN}"#, topic: "t/x").isEmpty)
        #expect(d.registry.count == 0)
        let out = decode(&d, #"[{"sensor":"a\/b","value":1},{"value":2},{"sensor":"a/b","value":3}]"#, topic: "t/x")
        #expect(out.map(\.sensor) == [0, 1, 0])
        #expect(d.registry.name(of: 0) == "a/b" && d.registry.name(of: 1) == "t/x")
    }

    @Test("a new sensor id that is not UTF-8 is refused (two such ids would share one name)")
    func invalidUTF8() {
        var d = decoder()
        let json: [UInt8] = Array(#"{"sensor":"bad"#.utf8) + [0xFF] + Array(#"","value":1}"#.utf8)
        #expect(d.decode(topic: nil, payload: json, now: Self.now).isEmpty)
        #expect(d.drops.messages(.malformedJSON) == 1, "JSON text that is not UTF-8 is not JSON")
        let overlong: [UInt8] = Array("x".utf8) + [0xC0, 0x80]
        #expect(d.decode(topic: nil, payload: IngestEncoder.binary(sensor: "", samples: [(Self.now, 1)]) , now: Self.now).isEmpty)
        var frame = IngestEncoder.binary(sensor: "xyz", samples: [(Self.now, 1)])
        frame.replaceSubrange(6..<9, with: overlong)
        #expect(d.decode(topic: nil, payload: frame, now: Self.now).isEmpty)
        #expect(d.decode(topic: [0xED, 0xA0, 0x80], payload: Array(#"{"value":1}"#.utf8), now: Self.now).isEmpty, "a surrogate")
        #expect(d.drops.messages(.invalidSensorID) == 2)
        #expect(d.registry.count == 0)
        #expect(decode(&d, #"{"sensor":"café é ✓","value":1}"#).count == 1, "valid UTF-8, escaped or not")
    }

    // MARK: Timestamps

    @Test("a timestamp more than max_future ahead of the clock is dropped and counted; the rest is kept")
    func future() {
        var d = decoder()
        let ahead = Self.now + 3600 * Self.second
        let out = decode(&d, "{\"sensor\":\"s\",\"samples\":[[\(Self.now),1],[\(ahead + 1),2],[\(ahead),3],[9223372036854775807,4]]}")
        #expect(out.map(\.value) == [1, 3])
        #expect(d.drops.samples(.futureTimestamp) == 2)
        #expect(d.drops.messages(.futureTimestamp) == 1)
        // The RFC 3339 form is checked the same way.
        #expect(decode(&d, #"{"sensor":"s","ts":"2200-01-01T00:00:00Z","value":1}"#).isEmpty)
        #expect(d.drops.samples(.futureTimestamp) == 3)
    }

    @Test("max_past drops old timestamps when set, and is off by default")
    func past() {
        var d = decoder()
        #expect(decode(&d, #"{"sensor":"s","ts":1,"value":1}"#).count == 1, "off by default: replays send old data")
        var strict = decoder(policy: TimestampPolicy(maxPast: 86_400 * Self.second))
        #expect(decode(&strict, #"{"sensor":"s","ts":1,"value":1}"#).isEmpty)
        #expect(decode(&strict, "{\"sensor\":\"s\",\"ts\":\(Self.now - 3600 * Self.second),\"value\":1}").count == 1)
        #expect(strict.drops.samples(.pastTimestamp) == 1)
        #expect(decode(&strict, "{\"sensor\":\"s\",\"ts\":-9223372036854775807,\"value\":1}").isEmpty, "no overflow at the edge")
    }

    @Test("late samples: within the reorder window accepted, beyond it dropped as late_sample")
    func reorderWindow() {
        var d = decoder()
        let t = Self.now - 3600 * Self.second
        #expect(binary(&d, "s", [(t, 1), (t + 10 * Self.second, 2)]).count == 2)
        // 4 minutes behind the newest: within 5m.
        #expect(binary(&d, "s", [(t + 10 * Self.second - 240 * Self.second, 3)]).count == 1)
        // 6 minutes behind: late.
        #expect(binary(&d, "s", [(t + 10 * Self.second - 360 * Self.second, 4)]).isEmpty)
        #expect(d.drops.samples(.lateSample) == 1)
        // Per sensor: another sensor's newest timestamp does not matter.
        #expect(binary(&d, "other", [(t - 3600 * Self.second, 5)]).count == 1)
        // Within one message, against the samples before it.
        let out = decode(&d, "{\"sensor\":\"third\",\"samples\":[[\(t),1],[\(t - 400 * Self.second),2],[\(t - 100 * Self.second),3]]}")
        #expect(out.map(\.value) == [1, 3])
        #expect(d.drops.samples(.lateSample) == 2)
        #expect(d.newestTimestamp(of: d.registry.index(of: "third")!) == t)
    }

    @Test("one sample stamped ahead (within max_future) cannot lock out the sensor's correct samples")
    func aheadSampleDoesNotFreezeTheSensor() {
        var d = decoder()
        // A gateway whose clock is 9 minutes behind the daemon's.
        let behind = Self.now - 9 * 60 * Self.second
        #expect(binary(&d, "s", [(behind, 1)]).count == 1)
        #expect(binary(&d, "s", [(Self.now + 50 * 60 * Self.second, 99)]).count == 1, "accepted: within max_future")
        #expect(d.newestTimestamp(of: 0) == behind, "a timestamp ahead of the clock does not move the window")
        // Its next samples are not late.
        let next = binary(&d, "s", [(behind + Self.second, 2), (behind + 2 * Self.second, 3)], now: Self.now + 2 * Self.second)
        #expect(next.map(\.value) == [2, 3])
        #expect(decode(&d, "{\"sensor\":\"s\",\"ts\":\(Self.now + 60 * Self.second),\"value\":4}").count == 1, "JSON alike")
        #expect(decode(&d, "{\"sensor\":\"s\",\"ts\":\(behind + 3 * Self.second),\"value\":5}").count == 1)
        #expect(d.drops.totalMessages == 0)
        #expect(d.newestTimestamp(of: 0) == behind + 3 * Self.second)
    }

    @Test("the window and the bounds can each be turned off")
    func unchecked() {
        var d = decoder(policy: .unchecked)
        #expect(decode(&d, "{\"sensor\":\"s\",\"samples\":[[9223372036854775807,1],[-9223372036854775807,2],[5,3]]}").count == 3)
        #expect(d.drops.totalMessages == 0)
        var windowOnly = decoder(policy: TimestampPolicy(reorderWindow: 10))
        #expect(binary(&windowOnly, "s", [(.max, 1), (.min, 2)], now: .max).map(\.value) == [1], "no overflow at the edges")
        #expect(windowOnly.drops.samples(.lateSample) == 1)
    }

    @Test("a missing ts takes the clock and is never late or in the future")
    func missingTimestamp() {
        var d = decoder()
        #expect(decode(&d, #"{"sensor":"s","value":1}"#).first?.timestamp == Self.now)
        #expect(decode(&d, #"{"sensor":"s","value":2}"#, now: Self.now + 1).first?.timestamp == Self.now + 1)
    }

    // MARK: Eviction support

    @Test("arrival clock per sensor; forget resets a recycled index")
    func arrivalAndForget() {
        var d = decoder()
        d.arrivalClock = 100
        _ = decode(&d, #"{"sensor":"a","value":1}"#)
        d.arrivalClock = 200
        _ = decode(&d, #"{"sensor":"b","value":1}"#)
        _ = decode(&d, #"{"sensor":"b","value":NaN}"#)
        #expect(d.lastArrival(of: 0) == 100 && d.lastArrival(of: 1) == 200)
        d.arrivalClock = 300
        _ = decode(&d, #"{"sensor":"a","value":NaN}"#)
        #expect(d.lastArrival(of: 0) == 100, "a rejected sample is no sign of life")
        d.forget(0)
        #expect(d.lastArrival(of: 0) == 300 && d.newestTimestamp(of: 0) == nil)
        // Indices interned elsewhere (restore, assets) are tracked from the moment they are seen.
        _ = d.registry.intern("restored")
        #expect(d.lastArrival(of: 2) == nil)
        d.trackRegistry()
        #expect(d.lastArrival(of: 2) == 300)
    }
}

@Suite("Sensor registry recycling")
struct SensorRegistryRecyclingTests {
    @Test("retire hides an id, release frees its slot for the next new id")
    func retireAndRelease() {
        let r = SensorRegistry(limit: 3)
        let a = r.intern("a")!, b = r.intern("b")!, c = r.intern("c")!
        #expect(r.intern("d") == nil, "full")
        r.retire(b)
        #expect(r.index(of: "b") == nil && r.liveCount == 2 && r.count == 3)
        #expect(r.name(of: b) == "b", "the name stays readable until release")
        #expect(r.intern("d") == nil, "a retired slot is still taken")
        r.release(b)
        #expect(r.name(of: b) == "")
        let d = r.intern("d")!
        #expect(d == b && r.name(of: d) == "d" && r.liveCount == 3)
        var reused: [UInt32] = []
        r.takeReused { reused.append($0) }
        #expect(reused == [b])
        #expect(!r.hasReused)
        // b comes back as a new sensor under another index once there is room.
        r.retire(a); r.release(a)
        #expect(r.intern("b") == a)
        #expect(r.index(of: "c") == c && r.index(of: "d") == d)
    }

    @Test("random interning and eviction agree with a dictionary (deletion keeps every id reachable)")
    func againstReference() {
        var rng = Xoshiro256StarStar(seed: 42)
        let r = SensorRegistry(limit: 512)
        var live: [String: UInt32] = [:]
        var retired: [UInt32] = []
        for step in 0..<200_000 {
            let roll = rng.next() % 10
            if roll < 6 {
                let name = "s\(rng.next() % 2_000)"
                let got = r.intern(name)
                if let known = live[name] {
                    #expect(got == known)
                } else if live.count + retired.count < 512 {
                    let index = try! #require(got)
                    #expect(!live.values.contains(index) && !retired.contains(index))
                    live[name] = index
                } else {
                    #expect(got == nil)
                }
            } else if roll < 8, let (name, index) = live.randomElement(using: &rng) {
                r.retire(index)
                live[name] = nil
                retired.append(index)
            } else if !retired.isEmpty {
                r.release(retired.removeFirst())
            }
            if step % 10_000 == 0 {
                for (name, index) in live { #expect(r.index(of: name) == index) }
                #expect(r.liveCount == live.count)
            }
        }
        for (name, index) in live {
            #expect(r.index(of: name) == index)
            #expect(r.name(of: index) == name)
        }
    }
}
