"""PyTorch's side of `pnpm bench`, run as a child process by bench/lib/pytorch.ts.

Reads a manifest (JSON) naming raw little-endian float32/int32 files: the same matrices,
MLP and GPT weights and batches that every JavaScript peer gets. For each case it times
one run per thread count (torch.set_num_threads 1 and 2) as the JavaScript side does
(warm-up, then runs until a minimum count and a time budget), and reports the median
per thread count plus three training losses from the shared initial weights, so the
bench can check that PyTorch computes the same thing before comparing speeds.
Prints one JSON object on stdout.
"""
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(manifest_dir, entry):
    dtype = np.float32 if entry["dtype"] == "float32" else np.int32
    data = np.fromfile(f"{manifest_dir}/{entry['file']}", dtype=dtype)
    return torch.from_numpy(data.reshape(entry["shape"]).copy())


def timed(fn, warmup, min_runs, budget_ms, max_runs=50):
    for _ in range(warmup):
        fn()
    runs = []
    start = time.perf_counter()
    while len(runs) < min_runs or ((time.perf_counter() - start) * 1000 < budget_ms and len(runs) < max_runs):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), runs


def mlp_model(t):
    sizes = t["mlp.sizes"]
    layers = []
    for l in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[l], sizes[l + 1])
        with torch.no_grad():
            lin.weight.copy_(t[f"mlp.w{l}"].T)  # ours are [in, out]
            lin.bias.copy_(t[f"mlp.b{l}"])
        layers.append(lin)
        if l < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class Block(torch.nn.Module):
    """Pre-norm block with tsgrad's parameter names (ln1, attn.{q,k,v,out}_proj, ln2, mlp.fc1/fc2)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.attn = torch.nn.ModuleDict({n: torch.nn.Linear(d, d) for n in ["q_proj", "k_proj", "v_proj", "out_proj"]})
        self.ln2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.ModuleDict({"fc1": torch.nn.Linear(d, 4 * d), "fc2": torch.nn.Linear(4 * d, d)})

    def forward(self, x):
        b, t, d = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = (split(self.attn[n](h)) for n in ["q_proj", "k_proj", "v_proj"])
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        y = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + self.attn["out_proj"](y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp["fc2"](F.gelu(self.mlp["fc1"](self.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["dModel"]
        self.tok_emb = torch.nn.Embedding(cfg["vocab"], d)
        self.pos_emb = torch.nn.Embedding(cfg["context"], d)
        self.blocks = torch.nn.ModuleList([Block(d, cfg["heads"]) for _ in range(cfg["layers"])])
        self.ln_f = torch.nn.LayerNorm(d)
        self.lm_head = torch.nn.Linear(d, cfg["vocab"], bias=False)

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def gpt_model(t, cfg):
    model = GPT(cfg)
    state = {name[len("gpt.param."):]: value for name, value in t.items() if name.startswith("gpt.param.")}
    model.load_state_dict(state, strict=True)
    return model


def train_step(model, opt, x, y):
    def step():
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def blas_library():
    """The BLAS this torch loaded (Debian links libblas.so.3, which is the netlib reference
    implementation unless OpenBLAS or another optimised one is installed): the speed of every
    PyTorch number below depends on it, so the bench prints it."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(paths)) or "none found"
    except OSError:
        return "unknown (no /proc/self/maps)"


def main():
    manifest_path = sys.argv[1]
    manifest_dir = manifest_path.rsplit("/", 1)[0]
    with open(manifest_path) as f:
        manifest = json.load(f)
    t = {e["name"]: load(manifest_dir, e) for e in manifest["tensors"]}
    t["mlp.sizes"] = manifest["mlp"]["sizes"]
    quick = manifest["quick"]
    threads = manifest["threads"]
    out = {"torch": torch.__version__, "blas": blas_library(), "cases": {}, "losses": {}}
    print(f"  PyTorch's BLAS: {out['blas']}", file=sys.stderr, flush=True)

    def budget(ms, min_runs, warmup):
        return (1 if quick else warmup, 2 if quick else min_runs, min(ms, 300) if quick else ms)

    cases = []
    for n in manifest["matmul"]:
        a, b = t[f"matmul.a{n}"], t[f"matmul.b{n}"]
        cases.append((f"matmul {n}", lambda a=a, b=b: (lambda: a @ b), budget(2000, 5, 2)))
    if "softmax.x" in t:
        x = t["softmax.x"]
        cases.append(("softmax 4096x512", lambda: (lambda: torch.softmax(x, dim=1)), budget(1500, 5, 2)))

        def layernorm():
            ln = torch.nn.LayerNorm(x.shape[1])
            xr = x.clone().requires_grad_(True)

            def run():
                xr.grad = None
                ln.zero_grad()
                ln(xr).sum().backward()

            return run

        cases.append(("layernorm fwd+bwd", layernorm, budget(1500, 5, 2)))
    if "conv.x" in t:
        def conv():
            x, w, b = (t[f"conv.{k}"].clone().requires_grad_(True) for k in "xwb")
            pad = manifest["conv"]["padding"]

            def run():
                x.grad = w.grad = b.grad = None
                torch.nn.functional.conv2d(x, w, b, padding=pad).sum().backward()

            return run

        cases.append(("conv fwd+bwd", conv, budget(3000, 5, 2)))

        def conv_forward():
            x, w, b = (t[f"conv.{k}"] for k in "xwb")
            pad = manifest["conv"]["padding"]

            def run():
                with torch.no_grad():
                    torch.nn.functional.conv2d(x, w, b, padding=pad)

            return run

        cases.append(("conv fwd", conv_forward, budget(3000, 5, 2)))
    if "mlp.x" in t:
        def mlp():
            model = mlp_model(t)
            return train_step(model, torch.optim.Adam(model.parameters(), lr=1e-3), t["mlp.x"], t["mlp.y"].long())

        cases.append(("MLP train step", mlp, budget(4000, 5, 2)))
        step = mlp()
        out["losses"]["MLP train step"] = [step() for _ in range(3)]
    if "gpt.ids" in t:
        cfg = manifest["gpt"]

        def gpt():
            model = gpt_model(t, cfg)
            return train_step(model, torch.optim.Adam(model.parameters(), lr=3e-4), t["gpt.ids"].long(), t["gpt.targets"].long())

        cases.append(("GPT train step", gpt, budget(8000, 3, 1)))
        step = gpt()
        out["losses"]["GPT train step"] = [step() for _ in range(3)]

    for name, make, (warmup, min_runs, budget_ms) in cases:
        per = {}
        for n in threads:
            torch.set_num_threads(n)
            ms, runs = timed(make(), warmup, min_runs, budget_ms)
            per[str(n)] = {"ms": ms, "runs": runs}
        best = min(per, key=lambda k: per[k]["ms"])
        out["cases"][name] = {"threads": per, "best": per[best]["ms"], "bestThreads": int(best)}
        print(f"  {name:<22} PyTorch ({best} thr)   {per[best]['ms']:9.1f} ms", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
