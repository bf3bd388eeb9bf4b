import Nabla

// The bridge from batches to Nabla tensors: a copy of the batch's buffers into float32
// tensor storage, ready to feed a network.

extension Batch {
    /// The images as a float32 tensor of shape `imageShape` (`[N, H·W]` or `[N, 1, H, W]`).
    public var imagesTensor: Tensor {
        Tensor(shape: imageShape, scalars: images)
    }

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
    /// (`.channelsFirst`): handy for evaluating a whole validation or test set at once.
    public func imagesTensor(layout: ImageLayout = .flat) -> Tensor {
        let shape = layout == .flat ? [count, imageSize] : [count, 1, height, width]
        return Tensor(shape: shape, scalars: images)
    }

    /// All labels as a float32 tensor of shape `[N]` holding class indices.
    public var labelsTensor: Tensor {
        Tensor(shape: [count], scalars: labels.map { Float($0) })
    }
}
