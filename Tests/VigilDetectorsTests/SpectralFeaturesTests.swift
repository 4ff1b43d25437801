// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilDetectors

private func sine(_ n: Int, amplitude: Double, cyclesPerSample f: Double, offset: Double = 0, phase: Double = 0.3) -> [Double] {
    (0..<n).map { offset + amplitude * sin(2 * Double.pi * f * Double($0) + phase) }
}

@Suite("Spectral features")
struct SpectralFeaturesTests {
    private let bands = [FrequencyBand(lower: 0, upper: 0.05), FrequencyBand(lower: 0.05, upper: 0.15),
                         FrequencyBand(lower: 0.15, upper: 0.3), FrequencyBand(lower: 0.3, upper: 0.5)]

    @Test("RMS of a sine is A/√2; its energy lands in its band", arguments: [(256, 0.125), (256, 52.0 / 256), (200, 0.35), (1000, 0.02)])  // whole cycles per window
    func sineFeatures(n: Int, frequency: Double) {
        let a = 3.0
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: bands)
        let (f, energies) = extractor.compute(sine(n, amplitude: a, cyclesPerSample: frequency))
        #expect(abs(f.rms - a / 2.squareRoot()) < 1e-9)
        #expect(abs(f.energy - a * a / 2) < 1e-9 * a * a)
        let expectedBand = bands.firstIndex { frequency >= $0.lower && frequency < $0.upper }!
        for (i, e) in energies.enumerated() {
            if i == expectedBand {
                #expect(abs(e - a * a / 2) < 1e-6 * a * a, "band \(i)")
            } else {
                #expect(e < 1e-6 * a * a, "band \(i)")
            }
        }
        #expect(abs(f.dominantFrequency - frequency) < 1e-9)
        #expect(abs(f.centroid - frequency) < 0.02)
    }

    @Test("dominant frequency between bins is interpolated to a fraction of a bin")
    func offBin() {
        let n = 512
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: [])
        for f in stride(from: 0.0123, to: 0.45, by: 0.0371) {
            let result = extractor.compute(sine(n, amplitude: 1, cyclesPerSample: f))
            #expect(abs(result.features.dominantFrequency - f) < 0.1 / Double(n), "f = \(f)")
        }
    }

    @Test("an offset does not move the spectrum; RMS includes it")
    func offset() {
        let n = 128
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: bands)
        let plain = extractor.compute(sine(n, amplitude: 1, cyclesPerSample: 0.25))
        let shifted = extractor.compute(sine(n, amplitude: 1, cyclesPerSample: 0.25, offset: 80))
        #expect(abs(shifted.features.dominantFrequency - 0.25) < 1e-9)
        #expect(abs(shifted.features.centroid - plain.features.centroid) < 1e-9)
        #expect(zip(shifted.bandEnergies, plain.bandEnergies).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(abs(shifted.features.rms - (80 * 80 + 0.5).squareRoot()) < 1e-9)
    }

    @Test("bands and frequencies in hertz with a sample rate")
    func hertz() {
        let n = 400, rate = 1000.0
        let hzBands = [FrequencyBand(lower: 0, upper: 100), FrequencyBand(lower: 100, upper: 200), FrequencyBand(lower: 200, upper: 500)]
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: hzBands, sampleRate: rate)
        // 150 Hz = 0.15 cycles per sample = bin 60 of 400.
        let (f, energies) = extractor.compute(sine(n, amplitude: 2, cyclesPerSample: 150 / rate))
        #expect(abs(f.dominantFrequency - 150) < 1e-6)
        #expect(abs(f.centroid - 150) < 3)
        #expect(abs(energies[1] - 2) < 1e-6)
        #expect(energies[0] < 1e-6 && energies[2] < 1e-6)
    }

    @Test("a flat window has no dominant frequency or centroid")
    func flat() {
        var extractor = SpectralFeatureExtractor(windowLength: 64, bands: bands)
        let (f, energies) = extractor.compute(Array(repeating: 4, count: 64))
        #expect(f.rms == 4 && f.dominantFrequency == 0 && f.centroid == 0)
        #expect(energies.allSatisfy { abs($0) < 1e-20 })
    }

    @Test("ring and feature-vector entry points agree with the plain one")
    func ringAndVector() {
        let n = 100
        let x = sine(n, amplitude: 1.5, cyclesPerSample: 0.07).enumerated().map { $0.element + Double($0.offset % 5) * 0.1 }
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: bands)
        let (f, energies) = extractor.compute(x)
        // The same window stored in a ring whose oldest value is at 37.
        let ring = Array(x[(n - 37)...] + x[..<(n - 37)])
        var ringEnergies = [Double](repeating: 0, count: bands.count)
        let g = ring.withUnsafeBufferPointer { r in
            ringEnergies.withUnsafeMutableBufferPointer { extractor.compute(ring: r, oldest: 37, bandEnergies: $0) }
        }
        #expect(g == f)
        #expect(ringEnergies == energies)
        var vector = [Double](repeating: .nan, count: extractor.featureCount)
        x.withUnsafeBufferPointer { w in vector.withUnsafeMutableBufferPointer { extractor.featureVector(w, into: $0) } }
        #expect(vector == [f.rms, f.dominantFrequency, f.centroid] + energies)
    }

    @Test("tiny windows", arguments: [1, 2, 3])
    func tiny(n: Int) {
        var extractor = SpectralFeatureExtractor(windowLength: n, bands: [FrequencyBand(lower: 0, upper: 0.5)])
        let (f, e) = extractor.compute((0..<n).map { Double($0 % 2) })
        #expect(f.rms.isFinite && f.dominantFrequency.isFinite && f.centroid.isFinite && e[0].isFinite)
    }
}
