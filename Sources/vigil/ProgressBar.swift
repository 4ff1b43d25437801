// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Synchronization

/// A progress bar on stderr, drawn only when stderr is a terminal, at most ten times a second.
/// Thread-safe: `advance` is called from the evaluation's worker threads.
final class ProgressBar: Sendable {
    private struct State { var done = 0; var lastDraw = ContinuousClock.now; var drawn = false }
    private let total: Int
    private let enabled: Bool
    private let state = Mutex(State())

    init(total: Int, enabled: Bool = true) {
        self.total = max(total, 1)
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func advance(_ samples: Int) {
        guard enabled else { return }
        state.withLock { s in
            s.done += samples
            let now = ContinuousClock.now
            guard now - s.lastDraw > .milliseconds(100) || s.done >= total else { return }
            s.lastDraw = now
            s.drawn = true
            let fraction = min(Double(s.done) / Double(total), 1)
            let width = 30
            let filled = Int(fraction * Double(width))
            let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
                + String(format: "%3d%%  %d / %d samples", Int(fraction * 100), s.done, total)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        state.withLock { s in if s.drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
    }
}
