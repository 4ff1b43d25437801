// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors

@Suite("Member alert gate")
struct MemberAlertGateTests {
    private func event(_ kind: AlertEventKind, _ detector: DetectorKind = .surprise, at t: Int64, severity: Severity = .warning) -> AlertEvent {
        AlertEvent(sensor: 1, detector: detector, event: kind, severity: severity, score: 5, threshold: 4, value: 0,
                   timestamp: t, raisedAt: 0, evidence: .none)
    }

    private func pass(_ gate: inout MemberAlertGate, _ e: AlertEvent, open: Bool) -> Bool {
        gate.pass(e, open: open)
    }

    @Test func anAlertIsWholeOrNotAtAll() {
        var gate = MemberAlertGate()
        // Raised while open: its escalation and clear pass after the gate closes.
        #expect(pass(&gate, event(.raised, at: 1), open: true))
        #expect(pass(&gate, event(.raised, at: 2, severity: .critical), open: false))
        #expect(pass(&gate, event(.cleared, at: 3), open: false))
        // Raised while closed: nothing of it passes, even once the gate opens again.
        #expect(!pass(&gate, event(.raised, at: 4), open: false))
        #expect(!pass(&gate, event(.raised, at: 5, severity: .critical), open: false))
        #expect(!pass(&gate, event(.cleared, at: 6), open: true))
        // Detectors are tracked apart.
        #expect(pass(&gate, event(.raised, .zscore, at: 7), open: true))
        #expect(!pass(&gate, event(.raised, .surprise, at: 7), open: false))
        #expect(!pass(&gate, event(.cleared, .surprise, at: 8), open: true))
        #expect(pass(&gate, event(.cleared, .zscore, at: 8), open: false))
    }

    @Test func aRestoredChainStillClears() {
        var gate = MemberAlertGate(published: DetectorKind.allCases)
        #expect(pass(&gate, event(.cleared, at: 1), open: false))
        #expect(!pass(&gate, event(.raised, at: 2), open: false))
    }
}
