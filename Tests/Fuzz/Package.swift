// swift-tools-version: 6.1
// Vigil fuzz targets (libFuzzer) — a separate package, so the main build never pays for the
// sanitizers. Build and run them with `make fuzz` / `make fuzz-smoke` (Tests/Fuzz/run.sh), which build
// with `swift build -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc
// -fsanitize=fuzzer-no-link,address`: every module of the graph gets coverage instrumentation and
// AddressSanitizer, and libFuzzer supplies `main`. (Not `--sanitize=fuzzer --sanitize=address`:
// that passes two -sanitize= flags in no fixed order and the last wins.)
// SPDX-License-Identifier: GPL-3.0-or-later
import PackageDescription

/// libFuzzer's `main` calls our `LLVMFuzzerTestOneInput`; the targets define no `main` of their own.
let fuzzTarget: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
/// Linked with lld: gold (Swift's default on Linux) with section garbage collection has been seen
/// to drop the coverage counters' sections, leaving a target that fuzzes blind.
let fuzzLink: [LinkerSetting] = [.unsafeFlags(["-use-ld=lld"])]

let package = Package(
    name: "VigilFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "vigil", path: "../.."),
    ],
    targets: [
        .target(name: "FuzzSupport", path: "Targets/FuzzSupport"),
        .executableTarget(name: "FuzzIngestDecoder", dependencies: [
            "FuzzSupport", .product(name: "VigilCore", package: "vigil"),
        ], path: "Targets/FuzzIngestDecoder", swiftSettings: fuzzTarget, linkerSettings: fuzzLink),
        .executableTarget(name: "FuzzConfigLoader", dependencies: [
            "FuzzSupport", .product(name: "VigilConfig", package: "vigil"),
        ], path: "Targets/FuzzConfigLoader", swiftSettings: fuzzTarget, linkerSettings: fuzzLink),
        .executableTarget(name: "FuzzDetectorSnapshot", dependencies: [
            "FuzzSupport", .product(name: "VigilCore", package: "vigil"),
            .product(name: "VigilDetectors", package: "vigil"), .product(name: "VigilPipeline", package: "vigil"),
        ], path: "Targets/FuzzDetectorSnapshot", swiftSettings: fuzzTarget, linkerSettings: fuzzLink),
        .executableTarget(name: "FuzzHistoryRequest", dependencies: [
            "FuzzSupport", .product(name: "VigilCore", package: "vigil"),
        ], path: "Targets/FuzzHistoryRequest", swiftSettings: fuzzTarget, linkerSettings: fuzzLink),
    ],
    swiftLanguageModes: [.v6]
)
