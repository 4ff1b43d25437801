// swift-tools-version: 6.1
// Vigil benchmarks — a separate package so the main build and CI never pay for them.
// SPDX-License-Identifier: GPL-3.0-or-later
import PackageDescription

let package = Package(
    name: "VigilBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "vigil", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        // Already in the graph through `benchmark`; named here for the in-run allocation checks.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
    ],
    targets: [
        .executableTarget(
            name: "VigilBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VigilDaemon", package: "vigil"),
                .product(name: "VigilTestKit", package: "vigil"),
                .product(name: "RingBuffer", package: "vigil"),
                .product(name: "VigilCore", package: "vigil"),
                .product(name: "VigilDetectors", package: "vigil"),
                .product(name: "VigilPipeline", package: "vigil"),
                .product(name: "FFT", package: "vigil"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/VigilBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
