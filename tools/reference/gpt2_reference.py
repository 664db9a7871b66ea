#!/usr/bin/env python3
"""GPT-2 reference in float64 PyTorch that writes llm.c-format fixtures.

For one model shape, batch and seed it writes, into --out:
  model.bin        the initial parameters (llm.c model file, version 3 fp32 or 5 bf16)
  state.bin        llm.c debug state: inputs, targets, logits (V columns), loss, all gradients
  losses.txt       "step <i>: loss <value>" for --steps AdamW steps on that batch (as llm.c's test_gpt2)
  model_final.bin  the parameters after the last step (version 3)

Everything is computed in float64 from the float32 (or bf16) values stored in model.bin,
then written as float32. Run with Debian's PyTorch: /usr/bin/python3 gpt2_reference.py --help
"""
import argparse
import math
import os

import numpy as np
import torch

MODEL_MAGIC, STATE_MAGIC = 20240326, 20240327
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DESCRIPTORS = {"d12": (12, 12, 768), "d24": (24, 16, 1024), "d36": (36, 20, 1280), "d48": (48, 25, 1600)}


def shapes(cfg):
    L, C, maxT, Vp = cfg["L"], cfg["C"], cfg["maxT"], cfg["Vp"]
    return {"wte": (Vp, C), "wpe": (maxT, C), "ln1w": (L, C), "ln1b": (L, C),
            "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C), "attprojb": (L, C),
            "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C), "fcb": (L, 4 * C),
            "fcprojw": (L, C, 4 * C), "fcprojb": (L, C), "lnfw": (C,), "lnfb": (C,)}


def init_params(cfg, init, gen):
    """standard: GPT-2's init. hot: large weights, random biases and LayerNorm affine, non-zero wte padding rows."""
    L, C, V = cfg["L"], cfg["C"], cfg["V"]
    p = {}
    for name, shape in shapes(cfg).items():
        def normal(std):
            return torch.randn(shape, generator=gen, dtype=torch.float64) * std
        if init == "standard":
            if name in ("ln1w", "ln2w", "lnfw"):
                t = torch.ones(shape, dtype=torch.float64)
            elif name in ("attprojw", "fcprojw"):
                t = normal(0.02 / math.sqrt(2 * L))
            elif name in ("wte", "wpe", "qkvw", "fcw"):
                t = normal(0.02)
            else:
                t = torch.zeros(shape, dtype=torch.float64)
            if name == "wte":
                t[V:] = 0.0
        else:
            fan_in = shape[-1]
            if name in ("ln1w", "ln2w", "lnfw"):
                t = 1.0 + normal(0.3)
            elif name in ("wte",):
                t = normal(1.0)          # padding rows too: they must not leak into the softmax
            elif name in ("wpe",):
                t = normal(0.5)
            elif name.endswith("w"):
                t = normal(1.5 / math.sqrt(fan_in))
            else:
                t = normal(0.5)          # biases, LayerNorm biases
        p[name] = t
    return p


def round_to_storage(p, version):
    dtype = torch.float32 if version == 3 else torch.bfloat16
    return {k: v.to(dtype).to(torch.float64) for k, v in p.items()}


def layernorm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(p, cfg, x, y):
    B, T = x.shape
    L, NH, C, V = cfg["L"], cfg["NH"], cfg["C"], cfg["V"]
    hs = C // NH
    h = p["wte"][x] + p["wpe"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
    for l in range(L):
        a = layernorm(h, p["ln1w"][l], p["ln1b"][l])
        qkv = a @ p["qkvw"][l].T + p["qkvb"][l]
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=2))  # (B, NH, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        yv = (att @ v).transpose(1, 2).reshape(B, T, C)
        h = h + yv @ p["attprojw"][l].T + p["attprojb"][l]
        m = layernorm(h, p["ln2w"][l], p["ln2b"][l])
        f = gelu(m @ p["fcw"][l].T + p["fcb"][l])
        h = h + f @ p["fcprojw"][l].T + p["fcprojb"][l]
    h = layernorm(h, p["lnfw"], p["lnfb"])
    logits = h @ p["wte"].T                       # (B, T, Vp): padding columns computed, never in the loss
    loss = torch.nn.functional.cross_entropy(logits[..., :V].reshape(-1, V), y.reshape(-1))
    return logits, loss


def flat(p):
    return torch.cat([p[n].reshape(-1) for n in NAMES])


def write_atomic(path, chunks):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def header(values):
    h = np.zeros(256, dtype="<i4")
    h[: len(values)] = values
    return h


def write_model(path, cfg, p, version):
    h = header([MODEL_MAGIC, version, cfg["maxT"], cfg["V"], cfg["L"], cfg["NH"], cfg["C"], cfg["Vp"]])
    values = flat(p)
    if version == 3:
        body = values.to(torch.float32).cpu().numpy().astype("<f4")
    else:
        body = values.to(torch.bfloat16).view(torch.int16).cpu().numpy().view("<u2")
    write_atomic(path, [h, body])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--descriptor", choices=sorted(DESCRIPTORS), help="GPT-2 size; overrides --layers/--heads/--channels/--vocab/--max-seq")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--channels", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=61)
    ap.add_argument("--padded-vocab", type=int, help="default: vocab rounded up to a multiple of 128")
    ap.add_argument("--max-seq", type=int, default=8)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", choices=["standard", "hot"], default="standard")
    ap.add_argument("--format", type=int, choices=[3, 5], default=3, help="3: fp32 model file, 5: bf16")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="torch device for the float64 math, e.g. cuda")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.descriptor:
        a.layers, a.heads, a.channels = DESCRIPTORS[a.descriptor]
        a.vocab, a.max_seq = 50257, 1024
    vp = a.padded_vocab or (a.vocab + 127) // 128 * 128
    cfg = {"L": a.layers, "NH": a.heads, "C": a.channels, "V": a.vocab, "Vp": vp, "maxT": a.max_seq}
    assert a.channels % a.heads == 0 and vp >= a.vocab and a.seq <= a.max_seq
    os.makedirs(a.out, exist_ok=True)

    gen = torch.Generator().manual_seed(a.seed)
    p = round_to_storage(init_params(cfg, a.init, gen), a.format)
    x = torch.randint(0, a.vocab, (a.batch, a.seq), generator=gen)
    y = torch.randint(0, a.vocab, (a.batch, a.seq), generator=gen)
    p = {k: v.to(a.device) for k, v in p.items()}
    x, y = x.to(a.device), y.to(a.device)
    write_model(os.path.join(a.out, "model.bin"), cfg, p, a.format)

    for t in p.values():
        t.requires_grad_(True)
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    s = {k: torch.zeros_like(v) for k, v in p.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    losses = []
    for step in range(max(1, a.steps)):
        logits, loss = forward(p, cfg, x, y)
        for t in p.values():
            t.grad = None
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            g = flat({k: v.grad for k, v in p.items()})
            st = header([STATE_MAGIC, 2, a.batch, a.seq])
            write_atomic(os.path.join(a.out, "state.bin"), [
                st, x.cpu().numpy().astype("<i4"), y.cpu().numpy().astype("<i4"),
                logits[..., : a.vocab].detach().cpu().numpy().astype("<f4"),
                np.array([loss.item()], dtype="<f4"), g.cpu().numpy().astype("<f4")])
        if a.steps == 0:
            break
        with torch.no_grad():  # llm.c's AdamW: bias-corrected moments, decoupled weight decay on every parameter
            t = step + 1
            for k, v in p.items():
                m[k] = beta1 * m[k] + (1 - beta1) * v.grad
                s[k] = beta2 * s[k] + (1 - beta2) * v.grad ** 2
                m_hat = m[k] / (1 - beta1 ** t)
                s_hat = s[k] / (1 - beta2 ** t)
                v -= a.lr * (m_hat / (torch.sqrt(s_hat) + eps) + a.weight_decay * v)

    if a.steps > 0:
        with open(os.path.join(a.out, "losses.txt"), "w") as f:
            for i, l in enumerate(losses):
                f.write(f"step {i}: loss {l:.9f}\n")
        write_model(os.path.join(a.out, "model_final.bin"), cfg, {k: v.detach() for k, v in p.items()}, 3)
    print(f"{a.out}: L={a.layers} NH={a.heads} C={a.channels} V={a.vocab} Vp={vp} maxT={a.max_seq} "
          f"B={a.batch} T={a.seq} init={a.init} v{a.format} loss0={losses[0]:.6f}")


if __name__ == "__main__":
    main()
