// swift-tools-version: 6.1
// Vigil — industrial time-series anomaly detection daemon.
// SPDX-License-Identifier: GPL-3.0-or-later
import PackageDescription

let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigild", targets: ["vigild"]),
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilDaemon", targets: ["VigilDaemon"]),
        .library(name: "VigilReplay", targets: ["VigilReplay"]),
        .library(name: "VigilTestKit", targets: ["VigilTestKit"]),
        .library(name: "RingBuffer", targets: ["RingBuffer"]),
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilJournal", targets: ["VigilJournal"]),
        .library(name: "VigilDetectors", targets: ["VigilDetectors"]),
        .library(name: "VigilPipeline", targets: ["VigilPipeline"]),
        .library(name: "VigilConfig", targets: ["VigilConfig"]),
        .library(name: "FFT", targets: ["FFT"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, each with exactly one Swift owner.
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3",
                       providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNATS", pkgConfig: "libnats",
                       providers: [.apt(["libnats-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .target(name: "CVigilOS"),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "FFT", dependencies: ["CFFTW"]),
        .target(name: "NATS", dependencies: ["CNATS"]),
        .target(name: "MQTT", dependencies: ["CMosquitto"]),

        // Pure Swift building blocks.
        .target(name: "RingBuffer"),
        .target(name: "VigilCore"),
        .target(name: "VigilDetectors", dependencies: ["VigilCore", "FFT"]),
        .target(name: "VigilPipeline", dependencies: ["VigilCore", "VigilDetectors", "RingBuffer", "CVigilOS"]),
        .target(name: "VigilConfig", dependencies: [
            "VigilCore", "VigilDetectors",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "VigilJournal", dependencies: ["VigilCore", "CSQLite"]),
        .target(name: "VigilReplay", dependencies: ["VigilCore", "VigilDetectors", "VigilConfig"]),
        .target(name: "VigilDaemon", dependencies: [
            "VigilCore", "VigilDetectors", "VigilPipeline", "VigilConfig", "VigilJournal", "ZeroMQ", "FFT", "RingBuffer",
            "NATS", "MQTT", "CVigilOS",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "VigilTestKit", dependencies: ["VigilCore"]),

        // Thin executables.
        .executableTarget(name: "vigild", dependencies: [
            "VigilDaemon", "VigilConfig",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "vigil", dependencies: [
            "VigilCore", "VigilConfig", "VigilReplay", "ZeroMQ", "CVigilOS", "NATS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests.
        .testTarget(name: "RingBufferTests", dependencies: ["RingBuffer"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "VigilCore", "VigilTestKit"]),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilDetectors"]),
        .testTarget(name: "VigilJournalTests", dependencies: ["VigilJournal", "VigilCore", "VigilTestKit"]),
        .testTarget(name: "FFTTests", dependencies: ["FFT"]),
        .testTarget(name: "VigilDetectorsTests", dependencies: ["VigilDetectors", "VigilCore", "VigilTestKit"],
                    resources: [.copy("Vectors")]),
        .testTarget(name: "VigilPipelineTests", dependencies: ["VigilPipeline", "VigilCore", "VigilDetectors"]),
        .testTarget(name: "VigilConfigTests", dependencies: ["VigilConfig", "VigilDetectors", "VigilCore"]),
        .testTarget(name: "VigilReplayTests", dependencies: ["VigilReplay", "VigilCore", "VigilDetectors", "VigilConfig", "VigilTestKit"],
                    resources: [.copy("Resources")]),
        .testTarget(name: "EndToEndTests", dependencies: [
                        "VigilDaemon", "VigilCore", "VigilDetectors", "VigilPipeline", "VigilJournal", "ZeroMQ", "VigilTestKit",
                        "VigilReplay", "VigilConfig", .product(name: "Logging", package: "swift-log"),
                    ],
                    exclude: ["pyzmq_peer.py", "pyzmq_hostile.py"]),
    ],
    swiftLanguageModes: [.v6]
)

// Strictness, set once for every target.
for target in package.targets where target.type != .system && !target.name.hasPrefix("C") {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
}
