// swift-tools-version:6.0
// The layers of ../shared/DESIGN.md: imports point only down.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Each ledger module keeps its spec beside its code.
let ledgerDocs =
    ["README.md"]
    + [
        "Bank", "Identity", "Policy", "Staking", "Provenance", "Storage", "Channels", "Credentials", "Gov", "OTA",
        "Oracle", "Contracts", "Compute",
    ].map { "Modules/\($0)/README.md" }

let package = Package(
    name: "Meshwork",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshwork", targets: ["meshwork"]),
        .executable(name: "meshwork-sim", targets: ["meshwork-sim"]),
        .library(name: "MeshCore", targets: ["MeshCore"]),
        .library(name: "MeshSDK", targets: ["MeshSDK"]),
        .library(name: "MeshLedger", targets: ["MeshLedger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
        // The WebAssembly interpreter with fuel metering, for contracts and compute jobs.
        .package(url: "https://github.com/swiftwasm/WasmKit.git", exact: "0.4.2"),
    ],
    targets: [
        // GF(2^8) kernels for erasure coding, in C.
        .target(name: "CErasure", exclude: ["README.md"]),
        .target(
            name: "MeshCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshLedger",
            dependencies: ["MeshCore", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ledgerDocs,
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshP2P",
            dependencies: [
                "MeshCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshConsensus",
            dependencies: ["MeshCore", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshCompute",
            dependencies: [
                "MeshCore", "MeshLedger", .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshStorage",
            dependencies: [
                "MeshCore", "CErasure", .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshGateway",
            dependencies: [
                "MeshCore", "MeshLedger", "MeshP2P", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The JSON wire models of the HTTP API, shared by the node (which encodes them) and the SDK.
        .target(
            name: "MeshAPI", dependencies: ["MeshCore", "MeshLedger", "MeshConsensus"], exclude: ["README.md"],
            swiftSettings: strictSettings),
        .target(
            name: "MeshSDK",
            dependencies: [
                "MeshAPI", "MeshCore", "MeshLedger", "MeshConsensus", "MeshStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MeshNode",
            dependencies: [
                "MeshCore", "MeshLedger", "MeshP2P", "MeshConsensus", "MeshStorage", "MeshGateway", "MeshAPI",
                "MeshSDK", "MeshCompute",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            exclude: ["README.md"],
            resources: [
                .embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/app.js"),
                .embedInCode("Dashboard/style.css"), .embedInCode("API/openapi.json"),
            ],
            swiftSettings: strictSettings
        ),
        // Benchmarks and load generators: `meshwork bench <area>`.
        .target(
            name: "MeshBench",
            dependencies: [
                "MeshNode", "MeshSDK", "MeshAPI", "MeshCore", "MeshLedger", "MeshConsensus", "MeshGateway",
                "MeshStorage", "MeshP2P", "MeshCompute",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "meshwork",
            dependencies: [
                "MeshBench", "MeshNode", "MeshSDK", "MeshAPI", "MeshCore", "MeshLedger", "MeshConsensus",
                "MeshStorage", "MeshP2P", "MeshGateway", "MeshCompute",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The deterministic consensus simulator: `swift run meshwork-sim --seeds 10000`.
        .executableTarget(
            name: "meshwork-sim",
            dependencies: ["MeshConsensus", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["README.md"],
            swiftSettings: strictSettings),
        // libFuzzer target for transaction decoding and checkTx (Fuzz/run.sh); a reproducer otherwise.
        .executableTarget(
            name: "ledger-fuzz", dependencies: ["MeshLedger", "MeshCore"], path: "Fuzz/Ledger",
            swiftSettings: strictSettings),
        // libFuzzer target for consensus messages, WAL records and P2P frames (Fuzz/run.sh).
        .executableTarget(
            name: "consensus-fuzz", dependencies: ["MeshConsensus", "MeshP2P", "MeshCore"], path: "Fuzz/Consensus",
            swiftSettings: strictSettings),
        // libFuzzer target for the MQTT decoder, device tokens and relay frames (Fuzz/run.sh).
        .executableTarget(
            name: "gateway-fuzz", dependencies: ["MeshGateway", "MeshCore"], path: "Fuzz/Gateway",
            swiftSettings: strictSettings),
        // libFuzzer target for read capabilities, sealed manifests and shard bytes (Fuzz/run.sh).
        .executableTarget(
            name: "storage-fuzz",
            dependencies: ["MeshStorage", "MeshCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Fuzz/Storage", swiftSettings: strictSettings),
        // libFuzzer target for modules (validation, compilation, runs under fuel) and sealed boxes (Fuzz/run.sh).
        .executableTarget(
            name: "compute-fuzz", dependencies: ["MeshCompute", "MeshLedger", "MeshCore"], path: "Fuzz/Compute",
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeshCoreTests",
            dependencies: ["MeshCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MeshLedgerTests",
            dependencies: ["MeshLedger", "MeshCore", "MeshNode", "MeshSDK", "MeshAPI", "MeshConsensus", "MeshCompute"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MeshConsensusTests", dependencies: ["MeshConsensus", "MeshCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "MeshSDKTests", dependencies: ["MeshSDK", "MeshAPI", "MeshConsensus", "MeshCore", "MeshLedger"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeshNodeTests",
            dependencies: [
                "MeshNode", "MeshCore", "MeshLedger", "MeshP2P", "MeshConsensus", "MeshSDK", "MeshAPI", "MeshGateway",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeshBenchTests", dependencies: ["MeshBench", "MeshCore", "MeshLedger"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeshComputeTests",
            dependencies: [
                "MeshCompute", "MeshCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "WAT", package: "WasmKit"),
            ],
            swiftSettings: strictSettings),
        .testTarget(name: "MeshP2PTests", dependencies: ["MeshP2P", "MeshCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "MeshGatewayTests",
            dependencies: [
                "MeshGateway", "MeshCore", "MeshLedger", "MeshP2P",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings),
        .testTarget(name: "CErasureTests", dependencies: ["CErasure"], swiftSettings: strictSettings),
        .testTarget(
            name: "MeshStorageTests",
            dependencies: ["MeshStorage", "MeshCore", "MeshLedger", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeshworkTests",
            dependencies: [
                "meshwork", "MeshCore", "MeshLedger", "MeshNode", "MeshSDK", "MeshAPI", "MeshConsensus", "MeshCompute",
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
