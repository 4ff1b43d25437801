// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import FuzzSupport
import VigilConfig

// The configuration loader (Yams + Vigil's validation) on arbitrary text.
//
// Invariants beyond "no crash": a rejected file has at least one problem, each with a file:line
// description; an accepted one renders its summary and resolves detector settings for a sensor.

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    Fuzz.writeSeedsIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    // `load(path:)` refuses text that is not UTF-8 before parsing; so does this.
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    do {
        let c = try VigilConfiguration.parse(yaml: text, file: "fuzz.yaml")
        _ = c.renderSummary()
        _ = c.detectorSettings(forSensor: "plant1/pump7/vibration")
        _ = c.asset(ofSensor: "plant1/pump7/vibration")
    } catch {
        Fuzz.check(!error.problems.isEmpty, "a ConfigError without problems")
        for p in error.problems { Fuzz.check(p.description.hasPrefix("fuzz.yaml"), "problem without its file: \(p)") }
    }
    return 0
}

/// The shipped and evaluation configurations, and the examples of the tests' style.
private func seeds() -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    for path in ["Configs/vigil.yaml"] + Fuzz.repositoryFiles(under: "Configs/eval", suffix: ".yaml") {
        if let bytes = Fuzz.repositoryFile(path) { seeds.append((path.replacingOccurrences(of: "/", with: "_"), bytes)) }
    }
    let examples = [
        "ingest: {endpoints: [tcp://*:7101], reorder_window: 90s, max_future: 0, max_past: 30d}\nlimits: {max_sensors: 10, sensor_idle_timeout: 12h}\n",
        "sensors:\n  - match: \"plant1/*/vibration\"\n    zscore: {threshold: 6}\n    spectral_residual: {enabled: true}\n",
        "assets:\n  - name: plant1/pump7\n    sensors: [\"plant1/pump7/*\"]\n    isolation_forest: {enabled: true, features: asset, extended: true}\n",
        "ingest:\n  subscribe:\n    - endpoint: tcp://10.0.0.5:5556\n      mode: connect\n      topics: [\"plant1/\"]\n",
        "detectors: {zscore: {mode: robust, window: 64, warmup: 8}, combine: {rule: weighted, weights: {zscore: 2}}}\n",
        "pipeline: {workers: 3, ring_capacity: 5000, overflow: drop}\nmetrics: {listen: \"[::1]:9500\"}\n",
        "&a {x: *a}\n", "- [1, 2]\n", "ingest: {max_message_bytes: 0}\n",
    ]
    for (k, e) in examples.enumerated() { seeds.append(("example-\(k)", Array(e.utf8))) }
    return seeds
}
