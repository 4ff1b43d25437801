// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore

/// Inputs the fuzz targets (`Tests/Fuzz/`, `make fuzz`) found, kept as they were found (the first byte
/// is the target's control byte, see `Tests/Fuzz/Targets/FuzzIngestDecoder`), each with what the
/// decoder must do with it now. The files are in `Tests/Fuzz/Findings` too, for `make fuzz` to replay.
@Suite("Ingest decoder fuzz findings")
struct IngestDecoderFuzzFindings {
    static let now: Int64 = 1_764_000_000 * 1_000_000_000

    /// The payload of a finding (after its control byte), decoded as the target does.
    func decode(_ base64: [String]) throws -> (samples: [Sample], decoder: IngestDecoder) {
        let input = try #require(Data(base64Encoded: base64.joined()))
        let control = input[input.startIndex]
        var d = IngestDecoder(registry: SensorRegistry(limit: control & 4 != 0 ? 3 : 1000), drops: DropCounters(),
                              maxMessageBytes: 1 << 20, timestampPolicy: control & 2 != 0 ? .standard : .unchecked)
        let topic: [UInt8]? = control & 1 != 0 ? Array("fuzz/topic".utf8) : nil
        let out = d.decode(topic: topic, payload: Array(input.dropFirst()), now: Self.now)
        return (out, d)
    }

    @Test("ingest-decoder-leading-zeros: a value written 00085.43 is not JSON; the batch is dropped as malformed_json")
    func leadingZeros() throws {
        let (samples, d) = try decode([
            "AXsic2Vuc29yIjoicGxhbnQxL21hY2hpbmUvdGVtcGVyYXR1cmUiLCJzYW1wbGVzIjpbWzE3NjM5OTk0MDAwMDAwMDAwMDAsNzMu",
            "OTY3MzIyMDddLFsxNzYzOTk5NzAwMDAwMDAwMDAwLDc0LjkzNTg4MTk5OTk5OTk4XSxbMTc2NDAwMDAwMDAwMDAwMDAwMCw3Ni4x",
            "MjQxNjE4Ml0sWzE3NjQwMDAzMDAwMDAwMDAwMDAsNzguMTQwNzA3MzJdLFsxNzY0MDAwNjAwMDAwMDAwMDAwLDc5LjMyOTgzNTc0",
            "XSxbMTc2NDAwMDkwMDAwMDAwMDAwMCw3OC43MTA0MTgyN10sWzE3NjQwMDEyMDAwMDAwMDAwMDAsODAuMjY5Nzg0MjFdLFsxNzY0",
            "MDAxNTAwMDAwMDAwMDAwLDgwLjI3MjgyNzkyXSxbMTc2NDAwMTgwMDAwMDAwMDAwMCw4MC4zNTM0MjQ2OF0sWzE3NjQwMDIxMDAw",
            "MDAwMDAwMDAsNzkuNDg2NTIzMTVdLFsxNzY0MDAyNDAwMDAwMDAwMDAwLDgwLjc4MzI3Njc0XSxbMTc2NDAwMjcwMDAwMDAwMDAw",
            "MCw3OS41MDgxNTg1NF0sWzE3NjQwMDMwMDAwMDAwMDAwMDAsNzkuMzAyMDMyODVdLFsxNzY0MDAzMzAwMDAwMDAwMDAwLDgwLjgw",
            "MjYyNDA3XSxbMTc2NDAwMzYwMDAwMDAwMDAwMCw4MC4zNzc3ODkyOV0sWzE3NjQwMDM5MDAwMDAwMDAwMDAsODAuNDc5MjM3MzVd",
            "LFsxNzY0MDA0MjAwMDAwMDAwMDAwLDgxLjQyMzU2MDI4XSxbMTc2NDAwNDUwMDAwMDAwMDAwMCw4MS4zNzM1NzUzNV0sWzE3NjQw",
            "MDQ4MDAwMDAwMDAwMDAsODEuNjkwOTQyMTVdLFsxNzY0MDA1MTAwMDAwMDAwMDAwLDgwLjE4MTI0OTc4XSxbMTc2NDAwNTQwMDAw",
            "MDAwMDAwMCw4MS43NjcxNzgzNV0sWzE3NjQwMDU3MDAwMDAwMDAwMDAsODEuMjU5NzgwNjVdLFsxNzY0MDA2MDAwMDAwMDAwMDAw",
            "LDgwLjMwMjkzNjUzXSxbMTc2NDAwNjMwMDAwMDAwMDAwMCw4MS4xMTQ1OTAzMV0sWzE3NjQwMDY2MDAwMDAwMDAwMDAsODEuNzQ4",
            "MTA4NzddLFsxNzY0MDA2OTAwMDAwMDAwMDAwLDgxLjk5NDYwNzQ3XSxbMTc2NDAwNzIwMDAwMDAwMDAwMCw4MS4yNTgwNTI3XSxb",
            "MTc2NDAwNzUwMDAwMDAwMDAwMCw4My4xMTgwMzg3MV0sWzE3NjQwMDc4MDAwMDAwMDAwMDAsODEuMjQ3MDIxMjFdLFsxNzY0MDA4",
            "MTAwMDAwMDAwMDAwLDgyLjczNTg2OTQxXSxbMTc2NDAwODQwMDAwMDAwMDAwMCw4MS43MjMzMjYwMl0sWzE3NjQwMDg3MDAwMDAw",
            "MDAwMDAsODEuNTYyMzU1NjddLFsxNzY0MDA5MDAwMDAwMDAwMDAwLDgxLjQzNTUzNDIyXSxbMTc2NDAwOTMwMDAwMDAwMDAwMCw4",
            "MS45MDgxNTU5Ml0sWzE3NjQwMDk2MDAwMDAwMDAwMDAsODIuNDU1NzUwOThdLFsxNzY0MDA5OTAwMDAwMDAwMDAwLDgzLjAyNzU4",
            "MjY3XSxbMTc2NDAxMDIwMDAwMDAwMDAwMCw4My4zNjIzNTY0Nl0sWzE3NjQwMTA1MDAwMDAwMDAwMDAsODEuODg3MDE1NjZdLFsx",
            "NzY0MDEwODAwMDAwMDAwMDAwLDgyLjg4MTg5MTgzXSxbMTc2NDAxMTEwMDAwMDAwMDAwMCw4My41Nzk2NTM0OV0sWzE3NjQwMTE0",
            "MDAwMDAwMDAwMDAsODMuNzYxNDEyOThdLFsxNzY0MDExNzAwMDAwMDAwMDAwLDgyLjMwOTkxOTA2XSxbMTc2NDAxMjAwMDAwMDAw",
            "MDAwMCw4My4wNTEzNjkwM10sWzE3NjQwMTIzMDAwMDAwMDAwMDAsODMuMjYzMzM2MzhdLFsxNzY0MDEyNjAwMDAwMDAwMDAwLDg0",
            "LjA5NzAwNzA2XSxbMTc2NDAxMjkwMDAwMDAwMDAwMCw4My41NDY0NDI4XSxbMTc2NDAxMzIwMDAwMDAwMDAwMCw4My40ODk5ODk5",
            "OV0sWzE3NjQwMTM1MDAwMDAwMDAwMDAsODMuNDM1MzQzMDRdLFsxNzY0MDEzODAwMDAwMDAwMDAwLDg1LjE4MzM2NjQyXSxbMTc2",
            "NDAxNDEwMDAwMDAwMDAwMCw4NS4zNDQ2MjQzNV0sWzE3NjQwMTQ0MDAwMDAwMDAwMDAsODQuNjcxOTYxNzJdLFsxNzY0MDE0NzAw",
            "MDAwMDAwMDAwLDg1LjMwMjc2MTU1XSxbMTc2NDAxNTAwMDAwMDAwMDAwMCw4NC4zNDkyMTA3OV0sWzE3NjQwMTUzMDAwMDAwMDAw",
            "MDAsODQuNTU1ODQzODNdLFsxNzY0MDE1NjAwMDAwMDAwMDAwLDgzLjc3MTEzNjU5OTk5OTk4XSxbMTc2NDAxNTkwMDAwMDAwMDAw",
            "MCw4NS4yOTgzNDA2M10sWzE3NjQwMTYyMDAwMDAwMDAwMDAsODUuNDAwMTQ1OTFdLFsxNzY0MDE2NTAwMDAwMDAwMDAwLDg1LjEw",
            "NzMwMjU1XSxbMTc2NDAxNjgwMDAwMDAwMDAwMCw4NC45NzQwNTY2OF0sWzE3NjQwMTcxMDAwMDAwMDAsMDAwODUuNDM3ODQyMDJd",
            "LFsxNzY0MDE3NDAwMDAwMDAwMDAwLDg0LjgzNDg0MDEzXSxbMTc2NDAxNzcwMDAwMDAwMDAwMCw4NC45NDcxNTgyN10sWzE3NjQw",
            "MTgwMDAwMDAwMDAwMDAsODYuMTY4NjE5MDFdLFsxNzY0MDE4MzAwMDAwMDAwMDAwLDg2LjM3NjIxODU4XV19",
        ])
        #expect(samples.isEmpty)
        #expect(d.drops.messages(.malformedJSON) == 1)
        #expect(d.registry.count == 0)
    }

    @Test("huge-exponent-unknown-key: an exponent beyond a double's range in a key we skip is valid JSON (RFC 8259), and kept")
    func hugeExponentInAnUnknownKey() throws {
        // Found as a break of the target's "Foundation parses what we accept" check: Foundation
        // refuses the number; the grammar allows it. The target no longer compares such inputs.
        let (samples, d) = try decode(["E3sidHMiOjE3NjM5OTk0MDAwMDAwMDAwMCwidmFsdS4iOjdlNDkzNTg4MTk5NzAwMDAwMDAwMDAsInZhbHVlIjo3OTk5OTk5OH0="])
        #expect(samples.map(\.value) == [79_999_998])
        #expect(samples.map(\.timestamp) == [176_399_940_000_000_000])
        #expect(d.registry.name(of: samples[0].sensor) == "fuzz/topic")
        #expect(d.drops.totalMessages == 0)
    }

    @Test("JSON's number and string grammar, strictly (what Foundation's parser also refuses)", arguments: [
        #"{"sensor":"s","value":01}"#, #"{"sensor":"s","value":-00.5}"#, #"{"sensor":"s","ts":007,"value":1}"#,
        #"{"sensor":"s","value":1,"x":012}"#, #"{"sensor":"s","value":1,"x":"\q"}"#, #"{"sensor":"s","value":1,"x":"\u12G4"}"#,
        #"{"sensor":"s\x","value":1}"#, #"{"sensor":"s","value":1,"x":"\u12"}"#,
    ])
    func strictGrammar(json: String) {
        var d = IngestDecoder(registry: SensorRegistry(limit: 10), drops: DropCounters())
        #expect(d.decode(topic: nil, payload: Array(json.utf8)).isEmpty)
        #expect(d.drops.messages(.malformedJSON) == 1)
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) == nil, "Foundation agrees")
    }

    @Test("what stays valid", arguments: [#"{"sensor":"s","value":0}"#, #"{"sensor":"s","value":-0.5e-3}"#,
                                          #"{"sensor":"s","ts":0,"value":0.0}"#, #"{"sensor":"s","value":1,"x":"\u00e9\n\/"}"#])
    func stillValid(json: String) {
        var d = IngestDecoder(registry: SensorRegistry(limit: 10), drops: DropCounters())
        #expect(d.decode(topic: nil, payload: Array(json.utf8)).count == 1)
    }
}
