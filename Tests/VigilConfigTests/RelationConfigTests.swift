// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors

@Suite("Relations and seasonal baselines in the config")
struct RelationConfigTests {
    @Test func readsARelationWithGivenAndFittedParameters() throws {
        let c = try parse("""
            relations:
              - name: balance
                assets: ["plant1/tank*"]
                expression: "inflow - outflow - 3600 * area * der(level) - bias"
                parameters: {area: 12.5, bias: {fit: true, initial: 0.3}}
                window: 30
                fit_warmup: 200
                fit_memory: 5000
              - name: redundancy
                assets: ["plant1/tank*", "plant2/*"]
                expression: "level - k * level_b"
                parameters: {k: fit}
            """)
        #expect(c.relations.count == 2)
        let b = c.relations[0].definition
        #expect(b.name == "balance" && b.window == 30 && b.fitWarmup == 200 && b.fitMemory == 5000)
        #expect(b.expression.fitted == ["bias"] && b.initial == [0.3])
        #expect(b.expression.terms.map(\.text) == ["inflow", "-outflow", "-3600*area*der(level)", "-bias"])
        #expect(c.relations.map(\.line) == [4, 11] && c.relations[0].column == 18)
        #expect(c.relations(forAsset: "plant1/tank3").map(\.name) == ["balance", "redundancy"])
        #expect(c.relations(forAsset: "plant2/x").map(\.name) == ["redundancy"])
        #expect(c.relations(forAsset: "plant3/tank").isEmpty)
        #expect(c.relations[1].definition.fitWarmup == RelationDefinition.defaultFitWarmup)
    }

    /// A bad expression is reported at its own line and column in the file, whichever way the
    /// scalar is written.
    @Test(arguments: [
        ("    expression: \"inflow - dr(level)\"", 4, 27, "unknown function `dr`"),
        ("    expression: inflow - (level", 4, 32, "expected `)`"),
        ("    expression: 'inflow * area * area'", 4, 34, "`area` must be a factor"),
        ("    expression: |\n      inflow\n        - lag(level, -1)", 6, 22, "whole number"),
    ] as [(String, Int, Int, String)])
    func expressionProblemsCarryTheirFilePosition(_ line: String, _ l: Int, _ column: Int, _ message: String) throws {
        let p = problems("""
            relations:
              - name: r
                assets: ["a*"]
            \(line)
                parameters: {area: fit}
            """)
        let first = try #require(p.first)
        #expect(p.count == 1, "\(p)")
        #expect(first.keyPath == "relations[0].expression" && first.message.contains(message), "\(first)")
        #expect(first.line == l && first.column == column, "at \(first.line):\(first.column) \(first)")
    }

    /// Against an asset whose sensors are spelled out, a sensor it lacks is an error at the
    /// sensor's position in the expression.
    @Test func anUnknownSensorOfADeclaredAssetIsRefused() throws {
        let p = problems("""
            assets:
              - name: plant1/tank1
                sensors: [plant1/tank1/level, plant1/tank1/inflow, plant1/tank1/outflow]
            relations:
              - name: balance
                assets: [plant1/tank1]
                expression: "inflow - outflw - area * der(level)"
                parameters: {area: 4}
            """)
        let first = try #require(p.first)
        #expect(p.count == 1)
        #expect(first.message == "unknown sensor `outflw`: asset \"plant1/tank1\" has level, inflow, outflow (and the parameters area)")
        #expect(first.line == 7 && first.column == 27)
    }

    @Test(arguments: [
        ("    expresion: a", "relations[0].expresion", "did you mean \"expression\""),
        ("    window: 0", "relations[0].window", "between 1 and 3600"),
        ("    parameters: {k: fast}", "relations[0].parameters.k", "expected"),
        ("    parameters: {2k: 1}", "relations[0].parameters", "a parameter name is a word"),
        ("    name: a/b", "relations[0].name", "letters, digits"),
    ] as [(String, String, String)])
    func badKeysAndValuesAreRefused(_ line: String, _ keyPath: String, _ message: String) throws {
        var lines = ["relations:", "  - name: r", "    assets: [\"a*\"]", "    expression: \"a - b\""]
        if line.hasPrefix("    name:") { lines[1] = "  - " + line.dropFirst(4) } else { lines.append(line) }
        let p = problems(lines.joined(separator: "\n"))
        let first = try #require(p.first, "\(line) accepted")
        #expect(first.keyPath == keyPath && first.message.contains(message), "\(first)")
    }

    @Test func missingKeysAndDuplicateNames() {
        let p = problems("""
            relations:
              - name: r
                assets: ["a*"]
                expression: "a - b"
              - name: r
                assets: ["a*"]
                expression: "a - b"
              - name: s
            """)
        #expect(p.map(\.keyPath) == ["relations[1].name", "relations[2].assets", "relations[2].expression"], "\(p)")
        #expect(p[0].message.contains("duplicate relation name"))
    }

    @Test func seasonalBaselineIsOptInPerGlob() throws {
        let c = try parse("""
            detectors:
              seasonal: {min_weeks: 3, utc_offset: 1}
            sensors:
              - match: "plant1/feeder*/load"
                seasonal: {enabled: true}
            """)
        #expect(c.detectorSettings(forSensor: "plant1/pump/flow").seasonal == nil)
        let s = try #require(c.detectorSettings(forSensor: "plant1/feeder2/load").seasonal)
        #expect(s.minWeeks == 3 && s.utcOffset == 1 && s.rate == 0.25)
        let bad = problems("sensors: [{match: \"*\", seasonal: {min_weeks: 0, utc_offset: 20, rat: 1}}]")
        #expect(bad.map(\.keyPath) == ["sensors[0].seasonal.min_weeks", "sensors[0].seasonal.utc_offset", "sensors[0].seasonal.rat"], "\(bad)")
    }
}
