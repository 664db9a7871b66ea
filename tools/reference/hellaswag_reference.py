#!/usr/bin/env python3
"""HellaSwag completion scoring in float64 PyTorch, as llm.c's dev/data/hellaswag.py scores it, for fixtures.

Reads an llm.c model file (version 3 or 5) and an llm.c eval file (hellaswag_val.bin), and writes, per example, the
summed and mean cross-entropy of each ending's tokens given the context, and pred / pred_norm (argmin of each), as
JSON in the shape `gpt2 eval hellaswag --json` writes. With --make-model it first writes a random "hot" model
(large weights, see gpt2_reference.py) of GPT-2's vocabulary, so that endings differ clearly in loss.

    /usr/bin/python3 tools/reference/hellaswag_reference.py --make-model --model m.bin --eval hellaswag_val.bin --out expected.json
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import NAMES, forward, init_params, round_to_storage, shapes, write_model  # noqa: E402


def read_model(path):
    with open(path, "rb") as f:
        h = np.frombuffer(f.read(1024), dtype="<i4")
        assert h[0] == 20240326 and h[1] in (3, 5), "not an llm.c model file"
        cfg = {"maxT": int(h[2]), "V": int(h[3]), "L": int(h[4]), "NH": int(h[5]), "C": int(h[6]), "Vp": int(h[7])}
        body = f.read()
    if h[1] == 3:
        values = torch.from_numpy(np.frombuffer(body, dtype="<f4").astype(np.float64))
    else:
        bits = np.frombuffer(body, dtype="<u2").astype(np.uint32) << 16
        values = torch.from_numpy(bits.view(np.float32).astype(np.float64))
    p, at = {}, 0
    for name in NAMES:
        shape = shapes(cfg)[name]
        n = int(np.prod(shape))
        p[name] = values[at:at + n].reshape(shape)
        at += n
    return cfg, p


def read_eval(path):
    data = open(path, "rb").read()
    h = struct.unpack_from("<256i", data, 0)
    assert h[0] == 20240522 and h[1] == 1, "not an llm.c eval file"
    stream = np.frombuffer(data[1024:], dtype="<u2")
    at, examples = 0, []
    for _ in range(h[2]):
        assert stream[at] == 65535
        index, label, count = int(stream[at + 2]), int(stream[at + 3]), int(stream[at + 4])
        at += 5
        n = int(stream[at]); ctx = stream[at + 1:at + 1 + n].tolist(); at += 1 + n
        endings = []
        for _ in range(count):
            n = int(stream[at]); endings.append(stream[at + 1:at + 1 + n].tolist()); at += 1 + n
        examples.append((index, label, ctx, endings))
    return examples


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--make-model", action="store_true")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--max-seq", type=int, default=64)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    if a.make_model:
        cfg = {"L": a.layers, "NH": a.heads, "C": a.channels, "V": 50257, "Vp": 50304, "maxT": a.max_seq}
        p = round_to_storage(init_params(cfg, "hot", torch.Generator().manual_seed(a.seed)), 5)
        write_model(a.model, cfg, p, 5)
    cfg, p = read_model(a.model)
    predictions = []
    for index, label, ctx, endings in read_eval(a.eval):
        sums, means = [], []
        for end in endings:
            row = ctx + end
            x = torch.tensor([row[:-1]])
            y = torch.tensor([row[1:]])
            logits, _ = forward(p, cfg, x, y)
            losses = torch.nn.functional.cross_entropy(logits[0, :, :cfg["V"]], y[0], reduction="none")
            ending = losses[len(ctx) - 1:]             # the targets that are the ending's tokens
            sums.append(ending.sum().item())
            means.append(ending.mean().item())
        predictions.append({"index": index, "label": label, "pred": int(np.argmin(sums)), "pred_norm": int(np.argmin(means)),
                            "sum_losses": sums, "mean_losses": means})
    n = len(predictions)
    result = {"examples": n, "acc": sum(q["pred"] == q["label"] for q in predictions) / n,
              "acc_norm": sum(q["pred_norm"] == q["label"] for q in predictions) / n, "predictions": predictions}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{n} examples: acc {result['acc']:.4f} acc_norm {result['acc_norm']:.4f}")


if __name__ == "__main__":
    main()
