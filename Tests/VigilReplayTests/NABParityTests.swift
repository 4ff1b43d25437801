// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
@testable import VigilReplay

/// The team's shared folder with the NAB corpus and the scoring vectors: `../shared` from the
/// package root (or above it, for a worktree), nil in a fresh clone.
let sharedDirectory = SharedData.directory(above: repositoryRoot, holding: "vectors/nab_scoring/expected.json")

/// Parity with NAB's official scorer on the whole corpus: three published detectors' anomaly
/// scores (`../shared/vectors/nab_scoring`, see its README) scored on NAB's 58 files
/// (`../shared/datasets/nab`) must give NAB's final scores to 0.01 with NAB's shipped
/// thresholds, and to 0.15 with Vigil's own optimised thresholds.
@Suite("NAB parity (whole corpus)")
struct NABParityTests {
    static let detectors = ["numenta", "windowedGaussian", "ARTime"]

    @Test(.enabled(if: sharedDirectory != nil,
                   "needs ../shared/vectors/nab_scoring and ../shared/datasets/nab next to the package (absent in a fresh clone); the bundled case in NABBundledTests still runs"),
          arguments: detectors)
    func publishedFinalScores(detector: String) throws {
        let shared = try #require(sharedDirectory)
        let nab = shared + "/datasets/nab"
        let vectors = shared + "/vectors/nab_scoring"
        let fixtures = try FixtureLoader(labels: try NABLabels(path: nab + "/labels/combined_windows.json")).load([nab + "/data"])
        let expectedData = try #require(FileManager.default.contents(atPath: vectors + "/expected.json"))
        // JSONDecoder parses numbers exactly (JSONSerialization on Linux may be one ulp off).
        let expected = try JSONDecoder().decode([String: [String: [String: Double]]].self, from: expectedData)
        let published = try #require(expected[detector])
        let shipped = try #require(published["shipped_thresholds"])

        let summary = NABSummary.scoring(.init(name: detector, path: vectors + "/" + detector), fixtures: fixtures, thresholds: shipped)
        #expect(summary.notScored.isEmpty, "\(summary.notScored)")
        #expect(summary.files == 58)
        #expect(summary.windows == 116)
        for profile in NABProfile.all {
            let given = try #require(summary.score(profile.name, "given"))
            let official = try #require(published["final_score_shipped_thresholds"]?[profile.name])
            #expect(given.threshold == shipped[profile.name])
            #expect(abs(try #require(given.normalised) - official) <= 0.01,
                    "\(detector) \(profile.name) at NAB's threshold \(given.threshold): \(given.normalised!) vs NAB's \(official)")
            let optimised = try #require(summary.score(profile.name, "optimised"))
            let optimisedScore = try #require(optimised.normalised), givenScore = try #require(given.normalised)
            // Optimising can only do as well or better than NAB's shipped threshold.
            #expect(optimisedScore >= givenScore - 1e-9)
            if let official = published["final_score_optimised_thresholds"]?[profile.name] {
                #expect(abs(optimisedScore - official) <= 0.15,
                        "\(detector) \(profile.name) optimised at \(optimised.threshold): \(optimised.normalised!) vs NAB's \(official)")
            }
        }
    }
}
