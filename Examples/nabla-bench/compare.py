#!/usr/bin/env python3
"""Runs nabla-bench and the reference workloads of ../shared/bench (PyTorch, NumPy) in one
sitting and prints a Markdown table of times and ratios, for Documentation/Performance.md.

    swift build -c release --product nabla-bench
    python3 Examples/nabla-bench/compare.py [--repeats 2] [--shared ../shared] [WORKLOAD ...]

Each workload runs `repeats` times per tool, alternating tools, and the best time counts
(this machine is noisy; the minimum is the least disturbed run).

With `--seeds`, the training workloads' repeats use seeds 0, 1, … (`--seed` of nabla-bench
and of the reference scripts) and the accuracy column gives the mean and range over them,
and the largest difference between Nabla and PyTorch at the same seed. nabla-bench starts
each seed from the PyTorch script's weights and visits the examples in its order, so the
two runs of a seed differ only by float rounding; between seeds, one epoch's accuracy
moves by a point or more.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# workload -> reference runs: (tool name, script, arguments)
REFERENCES = {
    "nielsen_mlp": [("PyTorch", "nielsen_mlp_torch.py", ["--epochs", "1"]),
                    ("NumPy", "nielsen_mlp_numpy.py", ["--epochs", "1", "--dtype", "float32"])],
    "ce_mlp": [("PyTorch", "ce_mlp_torch.py", ["--epochs", "1"])],
    "lenet_b10": [("PyTorch", "lenet_torch.py", ["--batch", "10", "--eta", "0.03"])],
    "lenet_b64": [("PyTorch", "lenet_torch.py", ["--batch", "64", "--eta", "0.1"])],
    "bn_cnn": [("PyTorch", "lenet_torch.py", ["--bn", "--opt", "adam", "--eta", "1e-3", "--batch", "64"])],
    "overhead": [("PyTorch", "small_op_overhead.py", [])],
    "sgemm": [("NumPy", "sgemm.py", ["numpy"]), ("PyTorch", "sgemm.py", ["torch"])],
}


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def run(cmd):
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"compare: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json_lines(p.stdout)


def nabla(workload, seed=None):
    extra = ["--seed", str(seed)] if seed is not None else []
    return run([os.path.join(REPO, ".build/release/nabla-bench"), workload, "--json"] + extra)


def reference(shared, script, args, seed=None):
    extra = ["--seed", str(seed)] if seed is not None else []
    return run([os.path.join(shared, "bench", "run.sh"), script] + args + extra)


def accuracy_summary(values):
    """'97.45 %', or the mean and range of several runs' accuracies (fractions)."""
    if len(values) == 1:
        return f"{100 * values[0]:.2f} %"
    mean = sum(values) / len(values)
    return f"{100 * mean:.2f} % ({100 * min(values):.2f}–{100 * max(values):.2f}, {len(values)} seeds)"


def training_figures(records, tool):
    """(seconds per epoch, test accuracy, peak RSS MB) from one run's JSON."""
    if tool == "Nabla":
        r = [x for x in records if "seconds_per_epoch" in x][-1]
        return r["seconds_per_epoch"], r["test_accuracy"], r["peak_rss_mb"]
    r = records[-1]
    e = r["epochs"][-1]
    return e["train_s"], e["test_acc"], r["peak_rss_mb"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workloads", nargs="*", default=list(REFERENCES))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    ap.add_argument("--seeds", action="store_true",
                    help="training repeats use seeds 0, 1, …; report mean accuracy over them")
    a = ap.parse_args()
    rows = []
    for w in a.workloads:
        if w not in REFERENCES:
            sys.exit(f"compare: unknown workload {w}")
        refs = REFERENCES[w]
        results = {}   # tool -> list of parsed runs
        training = w not in ("sgemm", "overhead")
        for r in range(a.repeats):
            seed = r if a.seeds and training else None
            results.setdefault("Nabla", []).append(nabla(w, seed))
            for tool, script, args in refs:
                results.setdefault(tool, []).append(reference(a.shared, script, args, seed))
        if w == "sgemm":
            for threads in (1, 2):
                for n in (128, 256, 512, 1024, 2048):
                    def best(tool):
                        vals = []
                        for recs in results.get(tool, []):
                            if tool == "Nabla":
                                vals += [x["gflops"] for x in recs if x.get("n") == n and x.get("threads") == threads]
                            else:
                                vals += [x["gflops_best"] for x in recs[-1]["results"] if x["n"] == n and x["threads"] == threads]
                        return max(vals) if vals else None
                    nb, npy, pt = best("Nabla"), best("NumPy"), best("PyTorch")
                    rows.append((f"sgemm n={n}, {threads} thread{'s' if threads > 1 else ''} (GFLOPS)",
                                 nb, pt, npy, f"{nb / pt:.2f}×" if pt else "", f"{nb / npy:.2f}×" if npy else "", ""))
        elif w == "overhead":
            nb = min(r[-1]["us_per_iteration"] for r in results["Nabla"])
            pt = min(r[-1]["results"]["torch_autograd_fwd_bwd_us"][0] for r in results["PyTorch"])
            npy = min(r[-1]["results"]["numpy_fwd_manual_bwd_us"][0] for r in results["PyTorch"])
            rows.append(("small chain + backward, 10×30 (µs)", nb, pt, npy, f"{nb / pt:.2f}×", f"{nb / npy:.2f}× (hand-written backward)", ""))
        else:
            figs = {tool: [training_figures(r, tool) for r in runs] for tool, runs in results.items()}
            best = {tool: min(f, key=lambda x: x[0]) for tool, f in figs.items()}
            nb, pt = best["Nabla"], best.get("PyTorch")
            npy = best.get("NumPy")
            if a.seeds:
                acc = " / ".join(accuracy_summary([f[1] for f in figs[t]]) for t in ("Nabla", "PyTorch") if t in figs)
                if "PyTorch" in figs:
                    gap = max(abs(n[1] - p[1]) for n, p in zip(figs["Nabla"], figs["PyTorch"]))
                    acc += f"; same seed within {100 * gap:.2f} points"
            else:
                acc = f"{100 * nb[1]:.2f} % / {100 * pt[1]:.2f} %" if pt else ""
            rss = f"{nb[2]:.0f} / {pt[2]:.0f} MB" if pt else f"{nb[2]:.0f} MB"
            rows.append((f"{w}, 1 epoch (s)", nb[0], pt[0] if pt else None, npy[0] if npy else None,
                         f"{nb[0] / pt[0]:.2f}×" if pt else "", f"{nb[0] / npy[0]:.2f}×" if npy else "",
                         f"{acc}; peak RSS {rss}"))
        sys.stderr.write(f"compare: {w} done\n")
    print("| workload | Nabla | PyTorch | NumPy | Nabla ÷ PyTorch | Nabla ÷ NumPy | accuracy (Nabla / PyTorch), peak RSS |")
    print("|---|---|---|---|---|---|---|")
    fmt = lambda v: "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
    for r in rows:
        print("| " + " | ".join([r[0], fmt(r[1]), fmt(r[2]), fmt(r[3]), r[4], r[5], r[6]]) + " |")


if __name__ == "__main__":
    main()
