// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig
import VigilCore
import VigilDetectors

@Suite("PCA section")
struct PCAConfigTests {
    @Test func defaultsForEveryAsset() throws {
        let c = try parse("assets: [{name: plant1/pump7, sensors: [\"plant1/pump7/*\"]}]")
        let section = try #require(c.pcaSettings(forAsset: "plant1/pump7"))
        #expect(section.configuration == PCAConfiguration())
        #expect(section.alerts == AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 6, clearAfter: 20, clearRatio: 1))
        #expect(PCAConfiguration().t2Factor == 3 && PCAConfiguration().alpha == 0.01 && PCAConfiguration().smoothing == 0.4)
        #expect(PCAConfiguration().components == .auto && PCAConfiguration().lags == 2 && PCAConfiguration().warmup == 1000)
    }

    @Test func readsEveryKey() throws {
        let c = try parse("""
            detectors:
              pca: {alpha: 0.02}
            assets:
              - name: plant1/pump7
                sensors: ["plant1/pump7/*"]
                pca:
                  components: 0.95
                  lags: 1
                  warmup: 600
                  baseline: {from: "2024-11-25T00:00:00Z", to: "2024-11-26T00:00:00Z"}
                  limits: theoretical
                  t2_factor: 1.5
                  smoothing: 1
                  forgetting: 0.9995
                  update_every: 250
                  relearn_after: 5000
                  threshold: 1.2
                  critical: 4
                  raise_after: 2
              - name: plant1/pump8
                sensors: ["plant1/pump8/*"]
                pca: {components: 6}
              - name: plant1/pump9
                sensors: ["plant1/pump9/*"]
                pca: {enabled: false}
            """)
        let s = try #require(c.pcaSettings(forAsset: "plant1/pump7"))
        let day: Int64 = 86_400_000_000_000
        #expect(s.configuration == PCAConfiguration(components: .variance(0.95), lags: 1, warmup: 600,
                                                    baselineStart: 20_052 * day, baselineEnd: 20_053 * day,
                                                    limits: .theoretical, alpha: 0.02, t2Factor: 1.5, smoothing: 1, forgetting: 0.9995,
                                                    updateEvery: 250, relearnAfter: 5000))
        #expect(s.alerts == AlertPolicy(threshold: 1.2, criticalThreshold: 4, raiseAfter: 2, clearAfter: 20, clearRatio: 1))
        #expect(c.pcaSettings(forAsset: "plant1/pump8")?.configuration.components == .count(6))
        #expect(c.pcaSettings(forAsset: "plant1/pump8")?.configuration.alpha == 0.02, "detectors.pca is every asset's default")
        #expect(c.pcaSettings(forAsset: "plant1/pump9") == nil)
        #expect(c.renderSummary().contains("pca.components: 0.95, pca.lags: 1"))
    }

    @Test("bad keys and values are reported with file, line, column and key path", arguments: [
        ("detectors: {pca: {lag: 1}}", "detectors.pca.lag", #"unknown key, did you mean "lags"?"#, 1, 19),
        ("detectors: {pca: {lags: -1}}", "detectors.pca.lags", "expected an integer between 0 and 16, got -1", 1, 25),
        ("detectors: {pca: {warmup: 5}}", "detectors.pca.warmup", "expected an integer between 20 and 1000000, got 5", 1, 27),
        ("detectors: {pca: {components: 0}}", "detectors.pca.components",
         "expected auto, a number of components ≥ 1, or an explained-variance fraction in (0, 1), got 0", 1, 31),
        ("detectors: {pca: {components: 1.5}}", "detectors.pca.components",
         "expected auto, a number of components ≥ 1, or an explained-variance fraction in (0, 1), got 1.5", 1, 31),
        ("detectors: {pca: {components: most}}", "detectors.pca.components",
         #"expected auto, a number of components ≥ 1, or an explained-variance fraction in (0, 1), got "most""#, 1, 31),
        ("detectors: {pca: {limits: exact}}", "detectors.pca.limits", #"expected one of empirical, theoretical, got "exact""#, 1, 27),
        ("detectors: {pca: {alpha: 0.5}}", "detectors.pca.alpha", "expected a number in (0, 0.5), got 0.5", 1, 26),
        ("detectors: {pca: {smoothing: 0}}", "detectors.pca.smoothing", "expected a number in (0, 1], got 0", 1, 30),
        ("detectors: {pca: {t2_factor: 0.5}}", "detectors.pca.t2_factor", "expected a number in [1, 100], got 0.5", 1, 30),
        ("detectors: {pca: {t2_factor: .nan}}", "detectors.pca.t2_factor", "expected a number in [1, 100], got .nan", 1, 30),
        ("detectors: {pca: {forgetting: 1.5}}", "detectors.pca.forgetting", "expected a number in (0, 1], got 1.5", 1, 31),
        ("detectors: {pca: {update_every: 0}}", "detectors.pca.update_every", "expected an integer ≥ 1, got 0", 1, 33),
        ("detectors: {pca: {relearn_after: -5}}", "detectors.pca.relearn_after", "expected an integer ≥ 0, got -5", 1, 34),
        ("detectors: {pca: {threshold: 2, critical: 1}}", "detectors.pca.critical", "critical (1) must be ≥ threshold (2)", 1, 43),
        ("detectors: {pca: {baseline: {from: 2024-11-25T00:00:00Z}}}", "detectors.pca.baseline.to", "a baseline period needs both from and to", 1, 29),
        ("detectors: {pca: {baseline: {from: yesterday, to: 2024-11-25T00:00:00Z}}}", "detectors.pca.baseline.from",
         #"expected an RFC 3339 time such as 2024-11-25T02:00:00Z, got "yesterday""#, 1, 36),
        ("detectors: {pca: {baseline: {from: 2024-11-26T00:00:00Z, to: 2024-11-25T00:00:00Z}}}", "detectors.pca.baseline",
         "the baseline period must end after it starts", 1, 29),
        ("detectors: {pca: {baseline: {from: 2024-11-25T00:00:00Z, to: 2024-11-26T00:00:00Z, at: 1}}}", "detectors.pca.baseline.at",
         "unknown key (known keys: from, to)", 1, 84),
        ("detectors: {pca: {baseline: 5}}", "detectors.pca.baseline",
         "expected a period {from: RFC 3339 time, to: RFC 3339 time}, or off, got 5", 1, 29),
        ("sensors: [{match: \"a/*\", pca: {lags: 1}}]", "sensors[0].pca",
         "pca monitors an asset; set it in detectors (every asset) or in an assets entry", 1, 26),
    ])
    func problemsArePositioned(yaml: String, keyPath: String, message: String, line: Int, column: Int) throws {
        let found = problems(yaml, file: "plant.yaml")
        let p = try #require(found.first, "no problem reported for \(yaml)")
        #expect(found.count == 1, "\(found)")
        #expect(p.keyPath == keyPath)
        #expect(p.message == message)
        #expect(p.line == line && p.column == column, "at \(p.line):\(p.column)")
        #expect(p.description.hasPrefix("plant.yaml:\(line):\(column): \(keyPath): "))
    }

    @Test func assetEntryProblemsNameTheAsset() throws {
        let found = problems("""
            assets:
              - name: a
                sensors: ["a/*"]
                pca: {threshold: 3, critical: 2}
            """)
        let p = try #require(found.first)
        #expect(p.keyPath == "assets[0].pca.critical" && p.line == 4)
        #expect(p.message.contains("for the sensors of asset \"a\""))
    }

    @Test func baselineOffClearsADefaultPeriod() throws {
        let c = try parse("""
            detectors:
              pca: {baseline: {from: "2024-11-25T00:00:00Z", to: "2024-11-26T00:00:00Z"}}
            assets:
              - {name: a, sensors: ["a/*"], pca: {baseline: off}}
              - {name: b, sensors: ["b/*"]}
            """)
        #expect(c.pcaSettings(forAsset: "a")?.configuration.baselineStart == nil)
        #expect(c.pcaSettings(forAsset: "b")?.configuration.baselineStart != nil)
    }
}
