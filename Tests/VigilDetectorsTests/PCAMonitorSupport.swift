// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import VigilDetectors
import VigilTestKit

/// What an asset's PCA alerts made of a recording: the share of fault rounds (per fault) and of
/// normal rounds flagged, counted after the baseline, with a round flagged while the alert is
/// raised once the round has been processed.
struct PCARun {
    var flagged: [Bool]
    var alerts: [AlertEvent]
    var scores: [Double?]
    var monitor: PCAMonitor?
    var rawT2: [Double] = []
    var rawQ: [Double] = []

    /// The share of `rounds` flagged.
    func share(_ rounds: Range<Int>) -> Double {
        let r = rounds.clamped(to: 0..<flagged.count)
        guard !r.isEmpty else { return 0 }
        return Double(r.filter { flagged[$0] }.count) / Double(r.count)
    }

    /// The share of normal rounds (not labelled, from `from` on) flagged.
    func falseAlarmShare(labels: [Bool], from: Int) -> Double {
        var normal = 0, hits = 0
        for t in from..<labels.count where !labels[t] {
            normal += 1
            if flagged[t] { hits += 1 }
        }
        return normal == 0 ? 0 : Double(hits) / Double(normal)
    }
}

enum PCATestSupport {
    /// The shipped PCA section (`detectors.pca` of Configs/vigil.yaml), with `change` applied.
    static func section(_ change: (inout PCAConfiguration) -> Void = { _ in }) -> DetectorSection<PCAConfiguration> {
        var c = PCAConfiguration()
        change(&c)
        // The shipped alert policy of detectors.pca.
        return DetectorSection(c, alerts: AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 6, clearAfter: 20, clearRatio: 1))
    }

    /// Runs `values` (rounds × members) through an `AssetDetector` with only a PCA monitor, every
    /// member reporting once per round (timestamp = round index, in nanoseconds).
    static func run(_ values: [[Double]], section: DetectorSection<PCAConfiguration>, asset: UInt32 = 7) -> PCARun {
        let m = values.first?.count ?? 1
        var detector = AssetDetector(asset: asset, settings: .init(pca: section), dimension: m, synchronousTraining: true)
        var flagged = [Bool](repeating: false, count: values.count)
        var alerts: [AlertEvent] = []
        var scores = [Double?](repeating: nil, count: values.count)
        var rawT2 = [Double](repeating: .nan, count: values.count), rawQ = rawT2
        for (t, row) in values.enumerated() {
            for (i, v) in row.enumerated() {
                detector.update(position: i, timestamp: Int64(t), value: v,
                                score: { kind, s in if kind == .pca { scores[t] = s } }, emit: { alerts.append($0) })
            }
            flagged[t] = detector.isRaised
            if scores[t] != nil, let m = detector.pcaMonitor {
                rawT2[t] = m.lastT2 / m.t2Limit
                rawQ[t] = m.lastQ / m.qLimit
            }
        }
        return PCARun(flagged: flagged, alerts: alerts, scores: scores, monitor: detector.pcaMonitor, rawT2: rawT2, rawQ: rawQ)
    }
}
