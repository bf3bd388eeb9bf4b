"""The `conv2-relu` preset of the `mnist` trainer (Nielsen's network3.py, chapter 6: two
conv + max-pool + ReLU layers, FC 100 ReLU, softmax; eta 0.03, lambda 0.1, mini-batch 10,
network3's initialisation and L2 term) written independently in PyTorch, as a cross-check of
what this setup reaches after a given number of epochs. CPU, one thread.

    ~/.cache/nabla-bench/venv/bin/python Examples/nabla-bench/network3_torch.py --seed S [--shuffle] [--epochs 1]

(the virtual environment is the one ../shared/bench/run.sh makes). Reads the gzip'd MNIST
files the repository ships in Examples/Data/mnist.
"""
import argparse, gzip, os, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as F

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data", "mnist")

def read_idx_gz(path):  # same parsing as shared/bench/common.py::_read_idx, on the .gz files
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

def load():
    xtr = read_idx_gz(os.path.join(DATA, "train-images-idx3-ubyte.gz")).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    ytr = read_idx_gz(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = read_idx_gz(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    yte = read_idx_gz(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    t = torch.from_numpy
    return (t(xtr[:50000].copy()), t(ytr[:50000].copy()), t(xtr[50000:].copy()), t(ytr[50000:].copy()),
            t(xte.copy()), t(yte.copy()))

def init_params(gen):
    def normal(shape, std):
        return (torch.randn(shape, generator=gen, dtype=torch.float32) * std).requires_grad_()
    p = {}
    # ConvPoolLayer: n_out = filters*prod(filter_hw)/prod(poolsize); w ~ N(0, sqrt(1/n_out)), b ~ N(0,1)
    p["w1"] = normal((20, 1, 5, 5), np.sqrt(1.0 / (20 * 25 / 4)))    # n_out = 125
    p["b1"] = normal((20,), 1.0)
    p["w2"] = normal((40, 20, 5, 5), np.sqrt(1.0 / (40 * 25 / 4)))   # n_out = 250
    p["b2"] = normal((40,), 1.0)
    # FullyConnectedLayer(640 -> 100): w ~ N(0, sqrt(1/n_out)) n_out=100, b ~ N(0,1)
    p["w3"] = normal((640, 100), np.sqrt(1.0 / 100))
    p["b3"] = normal((100,), 1.0)
    # SoftmaxLayer(100 -> 10): zeros
    p["w4"] = torch.zeros(100, 10, requires_grad=True)
    p["b4"] = torch.zeros(10, requires_grad=True)
    return p

def forward(p, x):
    # conv (valid) -> maxpool 2x2 -> + bias -> ReLU   (bias after pooling, as in network3)
    h = F.relu(F.max_pool2d(F.conv2d(x, p["w1"]), 2) + p["b1"].view(1, -1, 1, 1))   # 20x12x12
    h = F.relu(F.max_pool2d(F.conv2d(h, p["w2"]), 2) + p["b2"].view(1, -1, 1, 1))   # 40x4x4
    h = F.relu(h.reshape(h.shape[0], 640) @ p["w3"] + p["b3"])
    return h @ p["w4"] + p["b4"]   # logits; softmax in the cost

@torch.no_grad()
def accuracy(p, x, y, bs=1000):
    c = 0
    for k in range(0, x.shape[0], bs):
        c += (forward(p, x[k:k + bs]).argmax(1) == y[k:k + bs]).sum().item()
    return 100.0 * c / x.shape[0]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shuffle", action="store_true", help="reshuffle training set each epoch (network3 does not)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--eta", type=float, default=0.03)
    ap.add_argument("--lmbda", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr, xva, yva, xte, yte = load()
    p = init_params(gen)
    weights = [p["w1"], p["w2"], p["w3"], p["w4"]]
    params = list(p.values())
    n = xtr.shape[0]
    num_training_batches = n // a.batch   # 5000
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen) if a.shuffle else torch.arange(n)
        X, Y = xtr[order], ytr[order]
        for k in range(0, num_training_batches * a.batch, a.batch):
            logits = forward(p, X[k:k + a.batch])
            l2 = sum((w ** 2).sum() for w in weights)
            cost = F.cross_entropy(logits, Y[k:k + a.batch]) + 0.5 * a.lmbda * l2 / num_training_batches
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for q, g in zip(params, grads):
                    q -= a.eta * g
        tr_s = time.perf_counter() - t0
        va, te = accuracy(p, xva, yva), accuracy(p, xte, yte)
        print(f"seed={a.seed} shuffle={int(a.shuffle)} epoch={ep+1} val={va:.2f} test={te:.2f} "
              f"last_cost={float(cost.detach()):.4f} train_s={tr_s:.1f}", flush=True)

if __name__ == "__main__":
    main()
