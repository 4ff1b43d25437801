// SPDX-License-Identifier: GPL-3.0-or-later
import FFT
import Foundation
import Testing

/// Naive O(n²) DFT, the reference: sign −1 forward, +1 backward, unnormalised.
private func naiveDFT(_ x: [(Double, Double)], sign: Double) -> [(Double, Double)] {
    let n = x.count
    return (0..<n).map { k in
        var re = 0.0, im = 0.0
        for j in 0..<n {
            // Reduce jk mod n first so the angle stays small and exact.
            let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
            let c = cos(angle), s = sin(angle)
            re += x[j].0 * c - x[j].1 * s
            im += x[j].0 * s + x[j].1 * c
        }
        return (re, im)
    }
}

/// Deterministic pseudo-random values in [−1, 1) (SplitMix64).
private func noise(_ count: Int, seed: UInt64) -> [Double] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 52) - 1
    }
}

/// Largest absolute difference relative to the largest reference magnitude (at least 1).
private func relativeError(_ a: [(Double, Double)], _ b: [(Double, Double)]) -> Double {
    precondition(a.count == b.count)
    var scale = 1.0, err = 0.0
    for (x, y) in zip(a, b) {
        scale = max(scale, abs(y.0), abs(y.1))
        err = max(err, abs(x.0 - y.0), abs(x.1 - y.1))
    }
    return err / scale
}

private let sizes = [1, 2, 7, 16, 64, 100, 1024]

@Suite("FFT against a naive DFT")
struct FFTTests {
    @Test("real forward matches the DFT", arguments: sizes)
    func realForward(n: Int) {
        let fft = RealFFT(count: n)
        let x = noise(n, seed: UInt64(n))
        for i in 0..<n { fft.real[i] = x[i] }
        fft.forward()
        let expected = naiveDFT(x.map { ($0, 0) }, sign: -1)
        let got = (0..<fft.spectrumCount).map { fft.spectrum[$0] }
        #expect(fft.spectrumCount == n / 2 + 1)
        #expect(relativeError(got, Array(expected[0..<(n / 2 + 1)])) < 1e-9)
        // r2c preserves its input.
        #expect((0..<n).allSatisfy { fft.real[$0] == x[$0] })
    }

    @Test("real inverse matches the DFT of a Hermitian spectrum", arguments: sizes)
    func realInverse(n: Int) {
        let x = noise(n, seed: 100 + UInt64(n))
        let full = naiveDFT(x.map { ($0, 0) }, sign: -1)  // Hermitian
        let fft = RealFFT(count: n)
        for k in 0..<fft.spectrumCount { fft.spectrum[k] = full[k] }
        fft.inverse()
        let expected = naiveDFT(full, sign: 1)  // n·x, imaginary parts ≈ 0
        #expect(relativeError((0..<n).map { (fft.real[$0], 0.0) }, expected) < 1e-9)
    }

    @Test("real round trip returns the input times n", arguments: sizes)
    func roundTrip(n: Int) {
        let fft = RealFFT(count: n)
        let x = noise(n, seed: 7 * UInt64(n))
        for i in 0..<n { fft.real[i] = x[i] }
        fft.forward()
        fft.inverse()
        let err = (0..<n).map { abs(fft.real[$0] / Double(n) - x[$0]) }.max()!
        #expect(err < 1e-12)
    }

    @Test("complex forward and backward match the DFT", arguments: sizes)
    func complex(n: Int) {
        let x = Array(zip(noise(n, seed: 3 + UInt64(n)), noise(n, seed: 5 + UInt64(n))))
        let fft = ComplexFFT(count: n)
        for i in 0..<n { fft.input[i] = x[i] }
        fft.forward()
        #expect(relativeError((0..<n).map { fft.output[$0] }, naiveDFT(x, sign: -1)) < 1e-9)
        fft.backward()
        #expect(relativeError((0..<n).map { fft.output[$0] }, naiveDFT(x, sign: 1)) < 1e-9)
    }

    @Test("plans are shared per kind and size")
    func sharedPlans() {
        let a = FFTPlan.shared(.realToComplex, count: 48)
        let b = FFTPlan.shared(.realToComplex, count: 48)
        let c = FFTPlan.shared(.complexToReal, count: 48)
        #expect(a == b)
        #expect(a != c)
        #expect(a.complexCount == 25 && a.realCount == 48)
    }

    @Test("measured plans compute the same transform and supersede estimated ones")
    func measured() {
        let n = 60
        let fft = RealFFT(count: n, rigor: .measure)
        let x = noise(n, seed: 11)
        for i in 0..<n { fft.real[i] = x[i] }
        fft.forward()
        let expected = Array(naiveDFT(x.map { ($0, 0) }, sign: -1)[0...(n / 2)])
        #expect(relativeError((0...(n / 2)).map { fft.spectrum[$0] }, expected) < 1e-9)
        #expect(FFTPlan.shared(.realToComplex, count: n) == FFTPlan.shared(.realToComplex, count: n, rigor: .measure))
    }

    /// Stress size scales with `VIGIL_LONG_TESTS` (a multiplier).
    @Test("one plan size used from several threads at once")
    func concurrentUse() async {
        let n = 256
        let x = noise(n, seed: 42)
        let expected = Array(naiveDFT(x.map { ($0, 0) }, sign: -1)[0...(n / 2)])
        let factor = Int(ProcessInfo.processInfo.environment["VIGIL_LONG_TESTS"] ?? "") ?? 1
        let iterations = 200 * max(1, factor)
        let worst = await withTaskGroup(of: Double.self) { group in
            for t in 0..<8 {
                group.addTask {
                    // Each task owns its buffers; the plans are the shared ones.
                    let fft = RealFFT(count: n)
                    var worst = 0.0
                    for it in 0..<iterations {
                        let scale = Double(t * iterations + it + 1)
                        for i in 0..<n { fft.real[i] = x[i] * scale }
                        fft.forward()
                        let got = (0...(n / 2)).map { (fft.spectrum[$0].0 / scale, fft.spectrum[$0].1 / scale) }
                        worst = max(worst, relativeError(got, expected))
                        fft.inverse()
                        for i in 0..<n { worst = max(worst, abs(fft.real[i] / (Double(n) * scale) - x[i])) }
                    }
                    return worst
                }
            }
            return await group.reduce(0, max)
        }
        #expect(worst < 1e-9)
    }

    @Test("wisdom round-trips through a file; a missing file is an error")
    func wisdom() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-wisdom-\(ProcessInfo.processInfo.processIdentifier).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = RealFFT(count: 96, rigor: .measure)
        try FFTWisdom.save(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("fftw_wisdom"))
        try FFTWisdom.load(path)
        #expect(throws: FFTError.wisdomImport("/nonexistent/vigil/wisdom")) {
            try FFTWisdom.load("/nonexistent/vigil/wisdom")
        }
    }
}
