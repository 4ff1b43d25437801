// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilReplay

/// `SyntheticLoad`, the load `vigil bench-send` sends: deterministic, spikes where it says, and
/// every payload form decodes (with the daemon's own decoder) to the same samples.
@Suite("SyntheticLoad")
struct SyntheticLoadTests {
    let load = SyntheticLoad(.init(sensors: 12, seed: 7, spikeEvery: 50, spikeLength: 4))

    @Test func sensorIDsAreZeroPaddedAndDistinct() {
        #expect(load.sensorID(0) == "bench/s00")
        #expect(load.sensorID(11) == "bench/s11")
        #expect(Set(load.sensorIDs).count == 12)
        #expect(SyntheticLoad(.init(sensors: 1)).sensorID(0) == "bench/s0")
    }

    @Test("assets of n sensors as a plant names them: prefix, asset, /s, member, each zero-padded")
    func assetLayout() {
        let plant = SyntheticLoad(.init(sensors: 1000, sensorPrefix: "plant1/unit", assetSize: 20))
        #expect(plant.sensorID(0) == "plant1/unit00/s00")
        #expect(plant.sensorID(21) == "plant1/unit01/s01")
        #expect(plant.sensorID(999) == "plant1/unit49/s19")
        #expect(Set(plant.sensorIDs).count == 1000)
        // The signals do not depend on the names.
        let flat = SyntheticLoad(.init(sensors: 1000))
        #expect(plant.value(sensor: 5, index: 3) == flat.value(sensor: 5, index: 3))
    }

    @Test func valuesArePureFunctionsOfSeedSensorAndIndex() {
        let again = SyntheticLoad(.init(sensors: 12, seed: 7, spikeEvery: 50, spikeLength: 4))
        let other = SyntheticLoad(.init(sensors: 12, seed: 8, spikeEvery: 50, spikeLength: 4))
        var differs = 0
        for s in 0..<12 {
            for k in stride(from: 0, to: 5_000, by: 37) {
                #expect(load.value(sensor: s, index: k) == again.value(sensor: s, index: k))
                #expect(load.value(sensor: s, index: k) == Double(load.microUnits(sensor: s, index: k)) / 1e6)
                if load.value(sensor: s, index: k) != other.value(sensor: s, index: k) { differs += 1 }
            }
        }
        #expect(differs > 1_500, "another seed gives another signal")
        #expect(load.timestamp(index: 3) == 1_732_500_000_000_000_000 + 3_000_000)
    }

    @Test func spikesComeOncePerPeriodForTheirLengthAndStandOut() {
        for s in 0..<12 {
            let flags = (0..<500).map { load.isSpike(sensor: s, index: $0) }
            #expect(flags.filter { $0 }.count == 40, "4 samples in each of 10 periods of 50")
            // Runs of exactly 4 (a run may wrap around the start of the window only at index 0).
            for k in 1..<499 where flags[k] && !flags[k - 1] {
                #expect(flags[k..<min(k + 4, 500)].allSatisfy { $0 } && (k + 4 >= 500 || !flags[k + 4]))
            }
            let calm = (0..<500).filter { !flags[$0] }.map { load.value(sensor: s, index: $0) }
            let spiky = (0..<500).filter { flags[$0] }.map { load.value(sensor: s, index: $0) }
            #expect(spiky.min()! > calm.max()!, "a spike is above everything calm")
        }
        #expect(!(0..<1_000).contains { SyntheticLoad(.init(sensors: 3)).isSpike(sensor: 1, index: $0) })
    }

    @Test("every payload form decodes to the load's samples", arguments: LoadFormat.allCases)
    func roundTripThroughTheIngestDecoder(format: LoadFormat) throws {
        var decoder = IngestDecoder(registry: SensorRegistry(limit: 100), drops: DropCounters())
        var buffer: [UInt8] = []
        for sensor in [0, 5, 11] {
            for first in [0, 45, 1_000_003] {
                let count = format == .json ? 1 : 7
                load.encode(format, sensor: sensor, first: first, count: count, into: &buffer)
                let samples = decoder.decode(topic: nil, payload: buffer)
                try #require(samples.count == count, "\(format) \(String(decoding: buffer, as: UTF8.self))")
                #expect(decoder.drops.totalMessages == 0)
                for (j, sample) in samples.enumerated() {
                    #expect(decoder.registry.name(of: sample.sensor) == load.sensorID(sensor))
                    #expect(sample.timestamp == load.timestamp(index: first + j))
                    #expect(sample.value == load.value(sensor: sensor, index: first + j), "\(format): bit for bit")
                }
            }
        }
    }

    @Test func jsonTextHasSixDecimalsAndNegativeValues() {
        let negative = SyntheticLoad(.init(sensors: 2, spikeEvery: 2, spikeLength: 1, spikeSize: -1_000))
        var buffer: [UInt8] = []
        let k = (0..<2).first { negative.isSpike(sensor: 0, index: $0) }!
        negative.encode(.json, sensor: 0, first: k, count: 1, into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        let q = negative.microUnits(sensor: 0, index: k)
        #expect(q < 0)
        let digits = String(q.magnitude)
        let expected = "-" + String(digits.dropLast(6)) + "." + String(digits.suffix(6))
        #expect(text == "{\"sensor\":\"bench/s0\",\"ts\":\(negative.timestamp(index: k)),\"value\":\(expected)}")
    }
}
