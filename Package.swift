// swift-tools-version:6.0
// Nabla: tensors with reverse-mode automatic differentiation, neural-network layers and
// optimizers, and MNIST example trainers. No package dependencies and no unsafe compiler flags:
// the speed comes from the C target's kernels, which pick AVX-512, AVX2+FMA or portable
// code at run time.
import PackageDescription

let package = Package(
    name: "Nabla",
    products: [
        .library(name: "Nabla", targets: ["Nabla"]),
        .library(name: "NablaNN", targets: ["NablaNN"]),
        .library(name: "NablaData", targets: ["NablaData"]),
        .executable(name: "mnist", targets: ["mnist"]),
        .executable(name: "gradcheck", targets: ["gradcheck"]),
        .executable(name: "nabla-bench", targets: ["nabla-bench"]),
        .executable(name: "logistic-regression", targets: ["logistic-regression"]),
        .executable(name: "autoencoder", targets: ["autoencoder"]),
        .executable(name: "custom-op", targets: ["custom-op"]),
    ],
    targets: [
        // Hot loops only: GEMM micro-kernels, im2col, vectorized transcendentals, pooling.
        .target(name: "CNablaKernels", path: "Sources/CNablaKernels",
                linkerSettings: [.linkedLibrary("m")]),
        // The system zlib, for gzip'd IDX files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        .target(name: "Nabla", dependencies: ["CNablaKernels"], path: "Sources/Nabla"),
        .target(name: "NablaNN", dependencies: ["Nabla", "CNablaKernels"], path: "Sources/NablaNN"),
        .target(name: "NablaData", dependencies: ["Nabla", "CNablaKernels", "CZlib"], path: "Sources/NablaData"),

        // What the example programs share: models of the book and the benchmarks, the
        // training loop and its reports. Not a product.
        .target(name: "ExampleSupport", dependencies: ["Nabla", "NablaNN", "NablaData"],
                path: "Examples/Support"),
        .executableTarget(name: "mnist", dependencies: ["Nabla", "NablaNN", "NablaData", "ExampleSupport"],
                          path: "Examples/mnist"),
        .executableTarget(name: "gradcheck", dependencies: ["Nabla"], path: "Examples/gradcheck"),
        .executableTarget(name: "nabla-bench", dependencies: ["Nabla", "NablaNN", "NablaData", "ExampleSupport"],
                          path: "Examples/nabla-bench", exclude: ["compare.py", "network3_torch.py"]),
        .executableTarget(name: "logistic-regression", dependencies: ["Nabla", "NablaData", "ExampleSupport"],
                          path: "Examples/logistic-regression"),
        .executableTarget(name: "autoencoder", dependencies: ["Nabla", "NablaNN", "NablaData", "ExampleSupport"],
                          path: "Examples/autoencoder"),
        .executableTarget(name: "custom-op", dependencies: ["Nabla", "NablaNN", "NablaData", "ExampleSupport"],
                          path: "Examples/custom-op"),

        .testTarget(name: "NablaTests", dependencies: ["Nabla", "CNablaKernels"]),
        .testTarget(name: "NablaNNTests", dependencies: ["Nabla", "NablaNN"], exclude: ["Fixtures"]),
        .testTarget(name: "NablaDataTests", dependencies: ["Nabla", "NablaData"]),
        .testTarget(name: "ExampleSupportTests", dependencies: ["ExampleSupport", "Nabla", "NablaNN", "NablaData"]),
    ]
)
