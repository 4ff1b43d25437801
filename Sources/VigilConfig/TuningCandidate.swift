// SPDX-License-Identifier: GPL-3.0-or-later

/// One set of values of a tuning space overlaid on a base configuration: the configuration a
/// candidate is evaluated with, and the config snippet that reproduces it.
///
/// The values are applied to the base's `detectors` section exactly as the config loader
/// applies a `detectors` section read from a file (the same key tables, in order). A value
/// that contradicts another key (a `window` below the base's `warmup`, a `threshold` above its
/// `critical`) is settled the way the loader settles overrides (`warmup` shrinks to `window`,
/// `critical` rises to `threshold`), and the key that moved is listed in `adjusted`, so the
/// snippet passes `vigil check-config`.
///
/// Threading: an immutable value.
public struct TuningCandidate: Sendable, Equatable {
    /// One key and its value as a config file writes it.
    public struct Setting: Sendable, Equatable {
        /// `detectors.zscore.window`.
        public var keyPath: String
        /// `300`, `robust`, `4.21`.
        public var value: String
        /// Why the value differs from the one asked for, when it does.
        public var note: String?
    }

    /// The tuned keys with the values evaluated, in the space's order.
    public var settings: [Setting]
    /// Keys the space does not tune that changed to keep the configuration consistent.
    public var adjusted: [Setting]
    /// The base configuration with the values applied to `detectors`.
    public var configuration: VigilConfiguration

    init(patch: DetectorPatch, over base: VigilConfiguration) {
        var d = base.detectors
        d.apply(patch)
        let problems = d.inconsistencies
        let before = d
        d.repair()
        func reason(_ section: SectionKey, _ key: String) -> String? {
            problems.first { $0.section == section && $0.keys.contains(key) }?.message
        }
        let tuned = Set(patch.entries.map { "\($0.section.rawValue).\($0.key)" })
        var adjusted: [Setting] = []
        var changed: [String: String] = [:]
        for section in SectionKey.allCases {
            let old = DetectorFields.rendered(section, of: before)
            for (key, value) in DetectorFields.rendered(section, of: d) where old.first(where: { $0.key == key })?.value != value {
                changed["\(section.rawValue).\(key)"] = reason(section, key)
                if !tuned.contains("\(section.rawValue).\(key)") {
                    adjusted.append(Setting(keyPath: "detectors.\(section.rawValue).\(key)", value: value, note: reason(section, key)))
                }
            }
        }
        settings = patch.entries.map { e in
            let value = DetectorFields.rendered(e.section, of: d).first { $0.key == e.key }?.value ?? e.value.rendered
            return Setting(keyPath: e.location.keyPath, value: value, note: changed["\(e.section.rawValue).\(e.key)"])
        }
        self.adjusted = adjusted
        var c = base
        c.detectors = d
        configuration = c
    }

    /// The `detectors` section that gives this candidate's detector settings on the built-in
    /// defaults: every key whose value differs from its default (the base configuration's own
    /// choices), and every tuned or adjusted key, marked as such. Pasted under `detectors:`
    /// (replacing the keys it lists), or saved as a file of its own, it passes `vigil
    /// check-config`. `header` lines come first as comments; the same keys as a `sensors:`
    /// entry follow as a commented example.
    public func snippet(header: [String] = []) -> String {
        let defaults = VigilConfiguration.Detectors()
        let d = configuration.detectors
        let tuned = Dictionary(settings.map { ($0.keyPath, $0) }, uniquingKeysWith: { a, _ in a })
        let adjustedKeys = Dictionary(adjusted.map { ($0.keyPath, $0) }, uniquingKeysWith: { a, _ in a })
        var out = header.map { "# " + $0 + "\n" }.joined()
        out += "detectors:\n"
        for section in SectionKey.allCases {
            let base = DetectorFields.rendered(section, of: defaults)
            var lines: [String] = []
            for (key, value) in DetectorFields.rendered(section, of: d) {
                let path = "detectors.\(section.rawValue).\(key)"
                var line = "    \(key): \(value)"
                if let t = tuned[path] {
                    line += "  # tuned" + (t.note.map { " (\($0))" } ?? "")
                } else if let a = adjustedKeys[path] {
                    line += "  # adjusted" + (a.note.map { ": \($0)" } ?? "")
                } else if base.first(where: { $0.key == key })?.value == value {
                    continue
                }
                lines.append(line)
            }
            if !lines.isEmpty { out += "  \(section.rawValue):\n" + lines.joined(separator: "\n") + "\n" }
        }
        out += "# The same values for some sensors only: add an entry to sensors:, e.g.\n"
        out += sensorsEntry(match: "plant1/*/vibration").split(separator: "\n").map { "#   " + $0 + "\n" }.joined()
        return out
    }

    /// A `sensors:` list entry setting the tuned and adjusted keys for the sensors matching
    /// `match` (a glob), one flow mapping per section: `- match: "…"` then `  zscore: {…}`.
    public func sensorsEntry(match: String) -> String {
        var bySection: [(SectionKey, [String])] = []
        for s in settings + adjusted {
            let parts = s.keyPath.split(separator: ".").map(String.init)
            guard parts.count == 3, let section = SectionKey(rawValue: parts[1]) else { continue }
            let item = "\(parts[2]): \(s.value)"
            if let i = bySection.firstIndex(where: { $0.0 == section }) {
                bySection[i].1.append(item)
            } else {
                bySection.append((section, [item]))
            }
        }
        bySection.sort { SectionKey.allCases.firstIndex(of: $0.0)! < SectionKey.allCases.firstIndex(of: $1.0)! }
        var out = "- match: \(quoted(match))\n"
        for (section, items) in bySection { out += "  \(section.rawValue): {\(items.joined(separator: ", "))}\n" }
        return out
    }
}
