#!/usr/bin/env python3
"""Checks gpt2 import/export against transformers itself (needs torch and transformers; no network, no GPU).

    python3 tools/huggingface/check_transformers.py PATH/TO/gpt2 OUT_DIR

1. A random GPT2LMHeadModel (every parameter drawn, biases and LayerNorms included) is saved with save_pretrained.
2. `gpt2 import` converts it; transformers computes, in float64, the logits, the loss against given targets and
   every parameter's gradient on one batch, written as llm.c's debug state in llm.c's layout; `gpt2 verify` checks
   our forward and backward of the imported file against it.
3. `gpt2 export` writes a folder back; AutoModelForCausalLM.from_pretrained loads it and gives the original
   model's logits (<= 1e-4 relative), and AutoTokenizer.from_pretrained encodes a paragraph to the ids `gpt2
   prepare text` writes.
Prints one line per check and exits non-zero if any fails.
"""
import glob
import os
import struct
import subprocess
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

app, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
failures = 0


def check(name, ok, detail=""):
    global failures
    failures += 0 if ok else 1
    print(f"{'OK  ' if ok else 'FAIL'} {name} {detail}", flush=True)


def run(*args):
    p = subprocess.run([app, *args], capture_output=True, text=True)
    print(f"  $ gpt2 {' '.join(args)} -> {p.returncode}: {(p.stdout + p.stderr).strip().splitlines()[-1:]}", flush=True)
    return p


torch.manual_seed(0)
L, NH, C, maxT, V = 2, 4, 64, 32, 50257
model = GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=maxT, n_embd=C, n_layer=L, n_head=NH))
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.randn_like(p) * (0.1 if "ln" in name else 0.05) + (1.0 if "ln" in name and name.endswith("weight") else 0.0))
source = os.path.join(out, "hf-source")
model.save_pretrained(source, safe_serialization=True)

imported = os.path.join(out, "imported.bin")
check("import exits 0", run("import", source, "-o", imported).returncode == 0)

# llm.c's debug state from transformers in float64: logits, loss against explicit targets, gradients
B, T = 3, 11
g = torch.Generator().manual_seed(1)
x = torch.randint(0, V, (B, T), generator=g)
y = torch.randint(0, V, (B, T), generator=g)
m64 = GPT2LMHeadModel.from_pretrained(source, torch_dtype=torch.float64)
m64.eval()
logits = m64(x).logits
loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
loss.backward()
sd = dict(m64.named_parameters())
Vp = (V + 127) // 128 * 128


def grad(key, transpose=False):
    gr = sd["transformer." + key].grad.detach()
    return gr.t().contiguous() if transpose else gr


rows = [torch.cat([grad("wte.weight"), torch.zeros(Vp - V, C, dtype=torch.float64)]), grad("wpe.weight")]
for key, tr in [("ln_1.weight", 0), ("ln_1.bias", 0), ("attn.c_attn.weight", 1), ("attn.c_attn.bias", 0), ("attn.c_proj.weight", 1),
                ("attn.c_proj.bias", 0), ("ln_2.weight", 0), ("ln_2.bias", 0), ("mlp.c_fc.weight", 1), ("mlp.c_fc.bias", 0),
                ("mlp.c_proj.weight", 1), ("mlp.c_proj.bias", 0)]:
    rows += [grad(f"h.{l}.{key}", tr) for l in range(L)]
rows += [grad("ln_f.weight"), grad("ln_f.bias")]
grads = torch.cat([r.reshape(-1) for r in rows]).float().numpy()
state = os.path.join(out, "state.bin")
with open(state, "wb") as f:
    f.write(struct.pack("<256i", 20240327, 2, B, T, *([0] * 252)))
    f.write(x.int().numpy().tobytes() + y.int().numpy().tobytes())
    f.write(logits.detach().float().numpy().tobytes() + struct.pack("<f", loss.item()) + grads.tobytes())
p = run("verify", "--model", imported, "--state", state, "--steps", "1")
check("our forward and backward of the imported model match transformers' (float64)", p.returncode == 0)

exported = os.path.join(out, "hf-export")
check("export exits 0", run("export", imported, "--hf", exported).returncode == 0)
back = AutoModelForCausalLM.from_pretrained(exported)
back.eval()
with torch.no_grad():
    a, b = model.eval()(x).logits, back(x).logits
rel = ((a - b).abs().max() / a.abs().max()).item()
check("AutoModelForCausalLM.from_pretrained(export) gives the same logits", rel <= 1e-4, f"(max relative difference {rel:.2e})")

tokenizer = AutoTokenizer.from_pretrained(exported)
text = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        "naïve café — 東京 🙂 tabs\tand  double spaces, it's 1,234.5%")
with open(os.path.join(out, "para.txt"), "w", encoding="utf-8") as f:
    f.write(text)
tokdir = os.path.join(out, "tokens")
run("prepare", "text", os.path.join(out, "para.txt"), "--out", tokdir, "--val-tokens", "1")
ours = []
for shard in sorted(glob.glob(os.path.join(tokdir, "*val*.bin"))) + sorted(glob.glob(os.path.join(tokdir, "*train*.bin"))):
    data = open(shard, "rb").read()
    n = struct.unpack_from("<i", data, 8)[0]
    ours += list(struct.unpack_from(f"<{n}H", data, 1024))
theirs = [tokenizer.eos_token_id] + tokenizer.encode(text)
check("AutoTokenizer.from_pretrained(export) encodes as we do", ours == theirs, f"({len(theirs)} tokens)")
print(f"{failures} failed")
sys.exit(1 if failures else 0)
