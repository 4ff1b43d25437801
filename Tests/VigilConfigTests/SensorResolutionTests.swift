// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig
import VigilDetectors

@Suite("Per-sensor resolution")
struct SensorResolutionTests {
    /// The example from the design of the config format, with the z-score (off by default) on.
    static let example = """
        detectors:
          zscore: {enabled: true}
        sensors:
          - match: "plant1/*/vibration"
            zscore: {threshold: 6}
            spectral_residual: {enabled: true}
        assets:
          - name: plant1/pump7
            sensors: ["plant1/pump7/*"]
            isolation_forest: {enabled: true, features: asset, extended: true}
        """

    @Test func defaultsGiveTheRuntimeDefaults() {
        let settings = VigilConfiguration().detectorSettings(forSensor: "plant1/pump7/vibration")
        #expect(settings == DetectorSettings())
        #expect(settings.surprise == DetectorSection(SurpriseConfiguration(), alerts: AlertPolicy(
            threshold: 4, criticalThreshold: 7, raiseAfter: 1, clearAfter: 20, clearRatio: 1, relearnAfter: 300)))
        #expect(settings.zscore == nil)
        #expect(settings.spectralResidual == nil)
        #expect(settings.isolationForest == nil)
        #expect(settings.combine == nil)
        #expect(settings.calibration == CalibrationConfiguration())
        // Turned on, the former defaults come back as they were.
        let former = try? parse("detectors: {zscore: {enabled: true}, combine: {enabled: true}}").detectorSettings(forSensor: "x")
        #expect(former?.zscore == DetectorSection(ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)))
        #expect(former?.combine?.alerts == AlertPolicy(threshold: 0.9999999, criticalThreshold: 0.99999999))
        #expect(former?.combine?.configuration.rule == .max)
    }

    @Test func surpriseSectionAndOverrides() throws {
        let c = try parse("""
            detectors:
              surprise: {threshold: 5, critical: 8, relearn_after: 0, horizon: 2880, warmup: 300}
            sensors:
              - match: "plant1/*/vibration"
                surprise: {seasonal: false, recent_range: false, clear_after: 40}
              - match: "plant1/spare/*"
                surprise: {enabled: false}
            """)
        let v = try #require(c.detectorSettings(forSensor: "plant1/pump7/vibration").surprise)
        #expect(v.configuration == SurpriseConfiguration(warmup: 300, horizon: 2880, recentRange: false, seasonal: false))
        #expect(v.alerts == AlertPolicy(threshold: 5, criticalThreshold: 8, raiseAfter: 1, clearAfter: 40, clearRatio: 1, relearnAfter: 0))
        let other = try #require(c.detectorSettings(forSensor: "plant1/pump7/flow").surprise)
        #expect(other.configuration == SurpriseConfiguration(warmup: 300, horizon: 2880))
        #expect(other.alerts.clearAfter == 20)
        #expect(c.detectorSettings(forSensor: "plant1/spare/x").surprise == nil)
        // `alerts` does not reach the surprise section, which sets its own policy.
        let own = try parse("detectors: {alerts: {raise_after: 5, clear_after: 3, clear_ratio: 0.5}}").detectorSettings(forSensor: "x")
        #expect(own.surprise?.alerts == DetectorSettings.defaultSurprise.alerts)
    }

    @Test func exampleOverridesAndAsset() throws {
        let c = try parse(Self.example)
        let pump = c.detectorSettings(forSensor: "plant1/pump7/vibration")
        #expect(pump.zscore?.alerts == AlertPolicy(threshold: 6, criticalThreshold: 8))
        #expect(pump.spectralResidual == DetectorSection(SpectralResidualConfiguration(),
                                                         alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.8)))
        #expect(pump.isolationForest == DetectorSection(
            IsolationForestConfiguration(extended: true, features: .asset),
            alerts: AlertPolicy(threshold: 0.65, criticalThreshold: 0.75)))

        // In the asset, not a vibration sensor.
        let pressure = c.detectorSettings(forSensor: "plant1/pump7/pressure")
        #expect(pressure.zscore?.alerts.threshold == 5)
        #expect(pressure.spectralResidual == nil)
        #expect(pressure.isolationForest?.configuration.features == .asset)

        // A vibration sensor outside the asset.
        let fan = c.detectorSettings(forSensor: "plant1/fan2/vibration")
        #expect(fan.zscore?.alerts.threshold == 6)
        #expect(fan.spectralResidual != nil)
        #expect(fan.isolationForest == nil)

        // Neither.
        #expect(c.detectorSettings(forSensor: "plant2/fan2/vibration") == DetectorSettings(zscore: DetectorSettings.defaultZScore))
    }

    @Test func laterOverridesWin() throws {
        let c = try parse("""
            detectors:
              zscore: {enabled: true}
            sensors:
              - match: "plant1/**"
                zscore: {threshold: 6, critical: 10, window: 512}
              - match: "plant1/pump7/*"
                zscore: {threshold: 7}
              - match: "plant1/pump7/vibration"
                zscore: {window: 128, mode: robust}
              - match: "plant2/**"
                zscore: {threshold: 9, critical: 11}
            """)
        let z = try #require(c.detectorSettings(forSensor: "plant1/pump7/vibration").zscore)
        #expect(z.configuration == ZScoreSettings(mode: .robust, window: 128, warmup: 64))
        #expect(z.alerts == AlertPolicy(threshold: 7, criticalThreshold: 10))
        let other = try #require(c.detectorSettings(forSensor: "plant1/pump8/vibration").zscore)
        #expect(other.configuration.window == 512)
        #expect(other.alerts.threshold == 6)
        #expect(c.detectorSettings(forSensor: "plant2/x").zscore?.alerts.threshold == 9)
    }

    @Test func orderMattersBothWays() throws {
        let specificFirst = try parse("""
            detectors: {zscore: {enabled: true}}
            sensors:
              - {match: "a/b", zscore: {threshold: 7}}
              - {match: "a/*", zscore: {threshold: 6}}
            """)
        #expect(specificFirst.detectorSettings(forSensor: "a/b").zscore?.alerts.threshold == 6)
        let specificLast = try parse("""
            detectors: {zscore: {enabled: true}}
            sensors:
              - {match: "a/*", zscore: {threshold: 6}}
              - {match: "a/b", zscore: {threshold: 7}}
            """)
        #expect(specificLast.detectorSettings(forSensor: "a/b").zscore?.alerts.threshold == 7)
    }

    @Test func enabledFalseTurnsADetectorOff() throws {
        let c = try parse("""
            detectors:
              zscore: {enabled: true}
              spectral_residual: {enabled: true}
            sensors:
              - {match: "quiet/*", zscore: {enabled: false}, spectral_residual: {enabled: false}}
            """)
        let quiet = c.detectorSettings(forSensor: "quiet/1")
        #expect(quiet.zscore == nil)
        #expect(quiet.spectralResidual == nil)
        let loud = c.detectorSettings(forSensor: "loud/1")
        #expect(loud.zscore != nil)
        #expect(loud.spectralResidual != nil)
    }

    @Test func alertPolicyFieldsFallBackToAlertsSection() throws {
        let c = try parse("""
            detectors:
              alerts: {raise_after: 2, clear_after: 5, clear_ratio: 0.5}
              zscore: {enabled: true, raise_after: 4}
              spectral_residual: {enabled: true, clear_ratio: 0.9}
            sensors:
              - {match: "slow/*", alerts: {clear_after: 50}}
            """)
        let s = c.detectorSettings(forSensor: "x")
        #expect(s.zscore?.alerts == AlertPolicy(threshold: 5, criticalThreshold: 8, raiseAfter: 4, clearAfter: 5, clearRatio: 0.5))
        #expect(s.spectralResidual?.alerts == AlertPolicy(threshold: 0.5, criticalThreshold: 0.8, raiseAfter: 2, clearAfter: 5,
                                                         clearRatio: 0.9))
        let slow = c.detectorSettings(forSensor: "slow/1")
        #expect(slow.zscore?.alerts.clearAfter == 50)
        #expect(slow.zscore?.alerts.raiseAfter == 4)
    }

    @Test func combineSection() throws {
        let c = try parse("""
            detectors:
              combine: {enabled: true, rule: weighted, threshold: 0.99, critical: 0.999, raise_after: 1}
              calibration: {history: 1000, short_window: 5, warmup: 100}
            """)
        let s = c.detectorSettings(forSensor: "x")
        let combine = try #require(s.combine)
        #expect(combine.configuration.rule == .weighted)
        #expect(combine.configuration.weights.count == 4)
        #expect(combine.alerts == AlertPolicy(threshold: 0.99, criticalThreshold: 0.999, raiseAfter: 1))
        #expect(s.calibration == CalibrationConfiguration(history: 1000, shortWindow: 5, warmup: 100))
    }

    @Test func contradictionsOfSeveralOverridesAreSettled() throws {
        // Each entry is valid with the defaults; together threshold 10 > critical 9, warmup 100 > window 50.
        let c = try parse("""
            detectors: {zscore: {enabled: true}}
            sensors:
              - {match: "a/*", zscore: {threshold: 10, critical: 12, window: 50, warmup: 20}}
              - {match: "*/b", zscore: {critical: 9, warmup: 100}}
            """)
        let z = try #require(c.detectorSettings(forSensor: "a/b").zscore)
        #expect(z.alerts.criticalThreshold == 10)
        #expect(z.configuration.warmup == 50)
    }

    @Test func assetLookupIsFirstMatch() throws {
        let c = try parse("""
            assets:
              - {name: pump7, sensors: ["plant1/pump7/*"]}
              - {name: plant1, sensors: ["plant1/**", "legacy/p1_*"]}
              - {name: never, sensors: ["plant1/pump7/vibration"]}
            grouping: {rule: none}
            """)
        #expect(c.asset(ofSensor: "plant1/pump7/vibration") == "pump7")
        #expect(c.asset(ofSensor: "plant1/pump8/vibration") == "plant1")
        #expect(c.asset(ofSensor: "legacy/p1_temp") == "plant1")
        #expect(c.asset(ofSensor: "plant2/pump7/vibration") == nil)
        #expect(c.assets.map(\.name) == ["pump7", "plant1", "never"])
    }

    /// Assets without configuration: the shipped rule groups sensors by their parent path, after
    /// the `assets` entries.
    @Test func assetsByParentPath() throws {
        let c = try parse("""
            assets:
              - {name: line1, sensors: ["plant1/pump7/*"]}
            """)
        #expect(c.grouping == .init(rule: .parent, minimumMembers: 2))
        #expect(c.asset(ofSensor: "plant1/pump7/vibration") == "line1", "an entry first")
        #expect(c.asset(ofSensor: "plant2/pump7/vibration") == "plant2/pump7")
        #expect(c.asset(ofSensor: "plant2/pump7/a/b") == "plant2/pump7/a")
        #expect(c.asset(ofSensor: "reactor1/feed_flow") == "reactor1", "a wide recording's <file>/<column>")
        #expect(c.asset(ofSensor: "lonely") == nil)
        #expect(c.asset(ofSensor: "/x") == nil)
        #expect(VigilConfiguration.parentPath(of: "a/b/") == "a/b")
        let none = try parse("grouping: {rule: none, min_members: 4}")
        #expect(none.asset(ofSensor: "plant2/pump7/vibration") == nil)
        #expect(none.grouping.minimumMembers == 4)
        #expect(c.grouping.memberAlerts == .whileLearning)
        #expect(try parse("grouping: {member_alerts: always}").grouping.memberAlerts == .always)
    }

    @Test func groupingProblems() {
        for (yaml, message) in [
            ("grouping: {rule: folder}", #"c.yaml:1:18: grouping.rule: expected one of parent, none, got "folder""#),
            ("grouping: {min_members: 1}", "c.yaml:1:25: grouping.min_members: expected an integer between 2 and 65536, got 1"),
            ("grouping: {members: 3}", "c.yaml:1:12: grouping.members: unknown key (known keys: rule, min_members, member_alerts)"),
            ("grouping:\n  member_alerts: bonferroni", #"c.yaml:2:18: grouping.member_alerts: expected one of while_learning, always, got "bonferroni""#),
        ] {
            #expect(throws: ConfigError.self) { try VigilConfiguration.parse(yaml: yaml, file: "c.yaml") }
            do { _ = try VigilConfiguration.parse(yaml: yaml, file: "c.yaml") } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func assetsBuiltInCode() throws {
        var c = VigilConfiguration()
        c.assets = [VigilConfiguration.Asset(name: "pump7", sensors: [try Glob("pump7/*")])]
        #expect(c.asset(ofSensor: "pump7/rpm") == "pump7")
        #expect(c.detectorSettings(forSensor: "pump7/rpm") == DetectorSettings())
    }

    @Test func sensorOverridesApplyAfterTheAsset() throws {
        let c = try parse("""
            assets:
              - name: pump7
                sensors: ["plant1/pump7/*"]
                isolation_forest: {enabled: true, features: asset, trees: 50}
            sensors:
              - match: "plant1/pump7/rpm"
                isolation_forest: {features: shingle}
            """)
        #expect(c.detectorSettings(forSensor: "plant1/pump7/temp").isolationForest?.configuration.features == .asset)
        let rpm = try #require(c.detectorSettings(forSensor: "plant1/pump7/rpm").isolationForest)
        #expect(rpm.configuration.features == .shingle)
        #expect(rpm.configuration.trees == 50)
    }

    @Test func overrideChangesAreListed() throws {
        let c = try parse(Self.example)
        #expect(c.sensors.map(\.changes) == [["zscore.threshold: 6", "spectral_residual.enabled: true"]])
        #expect(c.assets.first?.changes == ["isolation_forest.enabled: true", "isolation_forest.features: asset",
                                            "isolation_forest.extended: true"])
        #expect(c.sensors.first?.match == (try Glob("plant1/*/vibration")))
    }

    @Test func sameOverridesFromDifferentLinesAreEqual() throws {
        let a = try parse("sensors: [{match: a, zscore: {threshold: 6}}]")
        let b = try parse("\n\nsensors:\n  - match: a\n    zscore:\n      threshold: 6\n")
        #expect(a == b)
    }
}
