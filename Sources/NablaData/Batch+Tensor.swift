import Nabla

// The bridge from batches and datasets to Nabla tensors. A batch's images are already a
// tensor (gathering writes into it); labels and whole datasets are converted here.

extension Batch {
    /// The labels as a float32 tensor of shape `[N]` holding class indices (0, 1, 2, …).
    public var labelsTensor: Tensor {
        Tensor(shape: [count], scalars: labels.map { Float($0) })
    }

    /// The labels one-hot encoded as a float32 tensor of shape `[N, classes]`.
    /// - Precondition: every label is in `0..<classes`.
    public func oneHotLabelsTensor(classes: Int = 10) -> Tensor {
        Tensor(shape: [count, classes], scalars: oneHotLabels(classes: classes))
    }
}

extension ImageDataset {
    /// All images as one float32 tensor, `[N, H·W]` (`.flat`) or `[N, 1, H, W]`
    /// (`.channelsFirst`), converted straight from the bytes: handy for evaluating a small
    /// set at once (for MNIST's 10,000 test images it takes 31 MB; batches take far less).
    public func imagesTensor(layout: ImageLayout = .flat) -> Tensor {
        var images = Tensor.zeros(layout == .flat ? [count, imageSize] : [count, 1, height, width])
        if !pixels.isEmpty {
            images.withUnsafeMutableBufferPointer(as: Float.self) { convertPixels(0, count: pixels.count, into: $0.baseAddress!) }
        }
        return images
    }

    /// All labels as a float32 tensor of shape `[N]` holding class indices.
    public var labelsTensor: Tensor {
        Tensor(shape: [count], scalars: labels.map { Float($0) })
    }
}
