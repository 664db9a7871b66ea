#!/usr/bin/env python3
"""Times GPT-2 training steps in fp32 PyTorch on the CPU, for side-by-side comparison with `gpt2 bench`.

Reads an llm.c model file (e.g. from `gpt2 init -e d12 -o model.bin`) and an llm.c token shard, then runs
forward + backward + AdamW (torch.optim.AdamW, foreach) on consecutive B x T batches and prints every step's time
and the median. The model is tools/reference's GPT-2 math (llm.c's) in float32, with one tensor per layer and
parameter as nanoGPT keeps them (slices of stacked tensors would cost PyTorch a full-size gradient per slice).

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \\
  /usr/bin/python3 tools/bench/pytorch_step.py --model model.bin --tokens train.bin --batch 4 --seq 64 --threads 2
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

# PyTorch's OpenMP threads and OpenBLAS's pthreads would spin against each other on a small machine (GELU 4x
# slower here); passive waiting gives PyTorch its best time
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import gpt2_reference as ref  # noqa: E402


def read_model(path):
    with open(path, "rb") as f:
        header = np.frombuffer(f.read(1024), dtype=np.int32)
        if header[0] != ref.MODEL_MAGIC or header[1] != 3:
            sys.exit(f"{path}: not an llm.c fp32 model file (magic {header[0]}, version {header[1]})")
        cfg = {"maxT": int(header[2]), "V": int(header[3]), "L": int(header[4]), "NH": int(header[5]),
               "C": int(header[6]), "Vp": int(header[7])}
        params = {}
        for name in ref.NAMES:
            shape = ref.shapes(cfg)[name]
            count = int(np.prod(shape))
            data = np.frombuffer(f.read(4 * count), dtype=np.float32)
            if data.size != count:
                sys.exit(f"{path}: truncated in {name}")
            stacked = torch.tensor(data.reshape(shape))
            if name in ("wte", "wpe", "lnfw", "lnfb"):
                params[name] = stacked.clone().requires_grad_(True)
            else:
                params[name] = [stacked[l].clone().requires_grad_(True) for l in range(cfg["L"])]
    return cfg, params


def tensors(params):
    for value in params.values():
        yield from (value if isinstance(value, list) else [value])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg, p = read_model(args.model)
    with open(args.tokens, "rb") as f:
        f.seek(1024)
        tokens = torch.from_numpy(np.frombuffer(f.read(), dtype=np.uint16).astype(np.int64))
    opt = torch.optim.AdamW(list(tensors(p)), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, foreach=True)
    B, T = args.batch, args.seq
    times = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, B={B} T={T}, "
          f"{sum(t.numel() for t in tensors(p)):,} parameters", flush=True)
    for step in range(args.warmup + args.steps):
        chunk = tokens[step * B * T: step * B * T + B * T + 1]
        x, y = chunk[:-1].view(B, T), chunk[1:].view(B, T)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        _, loss = ref.forward(p, cfg, x, y)
        loss.backward()
        opt.step()
        ms = (time.perf_counter() - start) * 1000
        print(f"step {step}{' (warmup)' if step < args.warmup else ''}: loss {loss.item():.4f}, {ms:.1f} ms", flush=True)
        if step >= args.warmup:
            times.append(ms)
    print(f"median {statistics.median(times):.1f} ms/step over {len(times)} steps")


if __name__ == "__main__":
    main()
