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
