// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

@Suite("Relation expressions")
struct RelationExpressionTests {
    @Test func termsSensorsAndFittedParameters() throws {
        let e = try RelationExpression.parse("inflow - outflow - 3600 * area * der(level)", fitted: ["area"])
        #expect(e.sensors == ["inflow", "outflow", "level"])
        #expect(e.terms.map(\.text) == ["inflow", "-outflow", "-3600*area*der(level)"])
        #expect(e.terms.map(\.sign) == [1, -1, -1])
        #expect(e.terms.map(\.fittedParameter) == [nil, nil, 0])
        // Given parameters are constants; backquoted names are sensors.
        let g = try RelationExpression.parse("`flow-in` * k - (a + b) / 2", given: ["k": 3])
        #expect(g.sensors == ["flow-in", "a", "b"])
        #expect(g.terms.count == 2 && g.terms.allSatisfy { $0.fittedParameter == nil })
    }

    /// Compiled programs against the same arithmetic written in Swift, over rounds with
    /// `der` and `lag` history.
    @Test func programsMatchDirectEvaluation() throws {
        let e = try RelationExpression.parse("a * 2 ^ 2 - sqrt(abs(b)) + max(a, b) / min(1, exp(log(3))) + der(a) + lag(b, 3)")
        #expect(e.terms.count == 5)
        var rng = Xoshiro256StarStar(seed: 5)
        var aHistory: [Double] = [], bHistory: [Double] = [], times: [Double] = []
        let states = e.terms.map { [Double](repeating: 0, count: max(1, $0.program.stateCount)) }
        var state = states
        for (k, t) in e.terms.enumerated() { state[k].withUnsafeMutableBufferPointer { t.program.initialState(into: $0.baseAddress!) } }
        var stack = [Double](repeating: 0, count: 16)
        for round in 0..<50 {
            let a = rng.nextGaussian(), b = rng.nextGaussian(), t = Double(round) * 10 + (round % 3 == 0 ? 1 : 0)
            aHistory.append(a); bHistory.append(b); times.append(t)
            let values = [a, b]
            var got = 0.0
            for (k, term) in e.terms.enumerated() {
                let v = values.withUnsafeBufferPointer { vp in
                    state[k].withUnsafeMutableBufferPointer { sp in
                        stack.withUnsafeMutableBufferPointer { st in
                            term.program.evaluate(values: vp.baseAddress!, seconds: t, state: sp.baseAddress!, stack: st.baseAddress!)
                        }
                    }
                }
                got += term.sign * v
            }
            let der = round == 0 ? Double.nan : (a - aHistory[round - 1]) / (t - times[round - 1])
            let lag = round < 3 ? Double.nan : bHistory[round - 3]
            let want = a * 4 - abs(b).squareRoot() + max(a, b) / min(1, 3) + der + lag
            if want.isNaN { #expect(got.isNaN, "round \(round)") } else { #expect(abs(got - want) < 1e-9, "round \(round): \(got) vs \(want)") }
        }
    }

    /// Each bad expression is refused with its position and a message that says what is wrong.
    @Test(arguments: [
        ("", 1, 1, "empty"),
        ("a + ", 1, 5, "expected a number"),
        ("a + (b * 2", 1, 11, "expected `)`"),
        ("a + dr(b)", 1, 5, "unknown function `dr`"),
        ("lag(a, 2.5)", 1, 8, "whole number"),
        ("lag(a, 0)", 1, 8, "whole number"),
        ("der(a, b)", 1, 1, "der takes 1 argument"),
        ("a $ b", 1, 3, "`$`"),
        ("a b", 1, 3, "unexpected `b`"),
        ("a - area * area * b", 1, 12, "`area` must be a factor"),
        ("a - b / area", 1, 9, "`area` must be a factor"),
        ("a - sqrt(area) * b", 1, 10, "`area` must be a factor"),
        ("a - der(area * b)", 1, 9, "cannot be inside der"),
        ("a - b\n  + `c", 2, 5, "unterminated"),
        ("a - b", 1, 1, "`area` is not used"),
        ("a - der", 1, 5, "is a function"),
        ("3 * 4", 1, 1, "names no sensor"),
    ] as [(String, Int, Int, String)])
    func badExpressionsAreRefusedWithTheirPosition(_ source: String, _ line: Int, _ column: Int, _ message: String) {
        do {
            _ = try RelationExpression.parse(source, fitted: ["area"])
            Issue.record("\(source) parsed")
        } catch {
            #expect(error.line == line && error.column == column, "\(source): \(error)")
            #expect(error.message.contains(message), "\(source): \(error.message)")
        }
    }
}
