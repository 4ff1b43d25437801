// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// The team's shared data folder (`shared/`: the NAB corpus in `datasets/nab`, reference
/// vectors in `vectors/`), which is not part of the repository. Tests that need it are enabled
/// only when it is found.
public enum SharedData {
    /// `../shared` from `packageRoot` (the directory holding `Package.swift`), or `shared` next
    /// to a folder further up (a git worktree checked out below the main one, `wt/<branch>`),
    /// provided it holds `marker` (a relative path); nil when there is none, as in a fresh clone.
    public static func directory(above packageRoot: String, holding marker: String) -> String? {
        var url = URL(fileURLWithPath: packageRoot).standardizedFileURL
        while url.pathComponents.count > 1 {
            let candidate = url.deletingLastPathComponent().appendingPathComponent("shared").path
            if FileManager.default.fileExists(atPath: candidate + "/" + marker) { return candidate }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
