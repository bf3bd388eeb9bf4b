# Writes tiny_mlp.safetensors, the Python-side fixture of CheckpointTests.swift: a 2-3-1
# network with PyTorch's Linear names and layout (weight is [out, in]), float32, known values.
# Run: pip install safetensors numpy && python3 make_fixture.py
import numpy as np
from safetensors.numpy import save_file

tensors = {
    "fc1.weight": np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], dtype=np.float32),
    "fc1.bias": np.array([0.01, -0.02, 0.03], dtype=np.float32),
    "fc2.weight": np.array([[0.7, -0.8, 0.9]], dtype=np.float32),
    "fc2.bias": np.array([-0.1], dtype=np.float32),
}
save_file(tensors, "tiny_mlp.safetensors", metadata={"format": "np", "source": "make_fixture.py"})
