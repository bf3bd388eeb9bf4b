# Reference values for OptimizerTests.swift: PyTorch's update rules (torch.optim, single-tensor
# path) re-written in float64 NumPy, applied for 3 steps to the loss
#   L(p) = 0.5 * sum(c * p^2) + sum(d * p),   so  grad = c * p + d.
# Run: python3 optimizer_reference.py   (prints the parameter after steps 1, 2 and 3)
import numpy as np

c = np.array([1.0, 2.0, 0.5]); d = np.array([0.1, -0.3, 0.2]); p0 = np.array([0.5, -1.0, 2.0])
grad = lambda p: c * p + d

def sgd(lr, momentum=0.0, nesterov=False, wd=0.0, dampening=0.0):
    p = p0.copy(); b = None; out = []
    for _ in range(3):
        g = grad(p)
        if wd: g = g + wd * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g; out.append(p.copy())
    return out

def rmsprop(lr=0.01, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False):
    p = p0.copy(); v = np.zeros(3); b = np.zeros(3); m = np.zeros(3); out = []
    for _ in range(3):
        g = grad(p)
        if wd: g = g + wd * p
        v = alpha * v + (1 - alpha) * (g * g)
        if centered:
            m = m + (1 - alpha) * (g - m); avg = np.sqrt(v - m * m) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum:
            b = momentum * b + g / avg; p = p - lr * b
        else:
            p = p - lr * (g / avg)
        out.append(p.copy())
    return out

def adagrad(lr=0.01, lr_decay=0.0, wd=0.0, eps=1e-10, init=0.0):
    p = p0.copy(); s = np.full(3, init); out = []
    for t in range(1, 4):
        g = grad(p)
        if wd: g = g + wd * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g; p = p - clr * (g / (np.sqrt(s) + eps)); out.append(p.copy())
    return out

def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, amsgrad=False, decoupled=False):
    p = p0.copy(); m = np.zeros(3); v = np.zeros(3); vmax = np.zeros(3); out = []
    for t in range(1, 4):
        g = grad(p)  # the gradient comes from backward(), before the step shrinks p
        if decoupled: p = p * (1 - lr * wd)
        if wd and not decoupled: g = g + wd * p
        m = m + (1 - b1) * (g - m); v = b2 * v + (1 - b2) * (g * g)
        step_size = lr / (1 - b1 ** t); bc2_sqrt = np.sqrt(1 - b2 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v); denom = np.sqrt(vmax) / bc2_sqrt + eps
        else:
            denom = np.sqrt(v) / bc2_sqrt + eps
        p = p - step_size * (m / denom); out.append(p.copy())
    return out

cases = {
    "sgdPlain": sgd(0.1),
    "sgdMomentum": sgd(0.1, momentum=0.9),
    "sgdDampening": sgd(0.1, momentum=0.9, dampening=0.5),
    "sgdNesterov": sgd(0.1, momentum=0.9, nesterov=True),
    "sgdWeightDecay": sgd(0.1, wd=0.05),
    "sgdMomentumWeightDecay": sgd(0.1, momentum=0.9, wd=0.05),
    "rmsprop": rmsprop(),
    "rmspropMomentumCentered": rmsprop(lr=0.01, momentum=0.9, centered=True, wd=0.1),
    "adagrad": adagrad(lr=0.1),
    "adagradDecay": adagrad(lr=0.1, lr_decay=0.5, wd=0.1, init=0.1),
    "adam": adam(lr=0.1),
    "adamWeightDecay": adam(lr=0.1, wd=0.1),
    "amsgrad": adam(lr=0.3, b2=0.5, amsgrad=True),
    "adamSameSettingsAsAmsgrad": adam(lr=0.3, b2=0.5),
    "adamW": adam(lr=0.1, wd=0.01, decoupled=True),
    "adamWAmsgrad": adam(lr=0.3, b2=0.5, wd=0.5, decoupled=True, amsgrad=True),
}
for name, steps in cases.items():
    rows = ",\n        ".join("[" + ", ".join(repr(float(x)) for x in s) + "]" for s in steps)
    print(f'    "{name}": [\n        {rows}],')
