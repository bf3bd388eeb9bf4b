import Nabla

/// Checks a pooling layer's input and window against PyTorch's rules.
private func checkPooling(_ input: Tensor, label: String, kernel: (Int, Int), padding: (Int, Int)) {
    guard input.rank == 4 else {
        layerFailure(label, "input \(describeShape(input.shape)) is not [N, C, H, W]")
    }
    guard input.shape[2] + 2 * padding.0 >= kernel.0, input.shape[3] + 2 * padding.1 >= kernel.1 else {
        layerFailure(label, "input \(describeShape(input.shape)) with padding \(padding) is smaller than the window \(kernel.0)×\(kernel.1)")
    }
}

/// Checks a pooling window's arguments when the layer is built.
private func checkWindow(_ label: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
    guard kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0 else {
        layerFailure(label, "kernel \(kernel) and stride \(stride) must be positive")
    }
    // As PyTorch: more padding than half a window would make windows of padding only.
    guard padding.0 >= 0, padding.1 >= 0, 2 * padding.0 <= kernel.0, 2 * padding.1 <= kernel.1 else {
        layerFailure(label, "padding \(padding) must be between 0 and half the kernel \(kernel)")
    }
}

/// Max pooling over NCHW windows: keeps the largest value of each window.
///
/// ```swift
/// let pool = MaxPool2D(kernelSize: 2)     // [N, C, 24, 24] → [N, C, 12, 12]
/// ```
public final class MaxPool2D: Module, CustomStringConvertible {
    /// Window (height, width).
    public let kernelSize: (Int, Int)
    /// Step between windows; the window size by default, so windows do not overlap.
    public let stride: (Int, Int)
    /// Padding on each side, which never wins the maximum.
    public let padding: (Int, Int)

    /// Max pooling with rectangular windows.
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        checkWindow(description, kernel: kernelSize, stride: self.stride, padding: padding)
    }

    /// Max pooling with square windows.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "MaxPool2D(\(kernelSize.0)×\(kernelSize.1))" }

    /// The maximum of each window of an `[N, C, H, W]` batch.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        checkPooling(input, label: description, kernel: kernelSize, padding: padding)
        return input.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }

    /// `self(input.relu())` as one op (`Tensor.reluMaxPool2d`): the same values and
    /// gradients without the ReLU's full-size output. `Sequential` uses it for a `ReLU`
    /// directly followed by a `MaxPool2D`.
    public func ofReLU(_ input: Tensor) -> Tensor {
        checkPooling(input, label: description, kernel: kernelSize, padding: padding)
        return input.reluMaxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// Average pooling over NCHW windows (padding counts as zeros in the average, as PyTorch's
/// default).
public final class AvgPool2D: Module, CustomStringConvertible {
    /// Window (height, width).
    public let kernelSize: (Int, Int)
    /// Step between windows; the window size by default.
    public let stride: (Int, Int)
    /// Zeros added on each side.
    public let padding: (Int, Int)

    /// Average pooling with rectangular windows.
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        checkWindow(description, kernel: kernelSize, stride: self.stride, padding: padding)
    }

    /// Average pooling with square windows.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "AvgPool2D(\(kernelSize.0)×\(kernelSize.1))" }

    /// The mean of each window of an `[N, C, H, W]` batch.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        checkPooling(input, label: description, kernel: kernelSize, padding: padding)
        return input.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
}
