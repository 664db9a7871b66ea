#!/usr/bin/env python3
"""Writes Hugging Face GPT-2 fixtures for the import tests, with the llm.c model files they must convert to.

Each fixture folder holds model.safetensors and config.json as transformers lays out GPT2LMHeadModel, and
expected.bin (plus expected_bf16.bin for the F32 one): the llm.c model file that llm.c's train_gpt2.py write_model
produces for the same weights (Conv1D weights transposed to (out, in), wte zero-padded to a multiple of 128,
version 3 float32 or version 5 bfloat16 rounded to nearest even). Plain Python, no packages: the safetensors and
llm.c layouts are written here from their specifications, independently of the C# code under test.

    python3 tools/huggingface/make_fixtures.py Gpt2.Tests/Fixtures/huggingface
"""
import json
import os
import random
import struct
import sys


def bf16_bits(x):
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


def bf16_value(x):
    return struct.unpack("<f", struct.pack("<I", bf16_bits(x) << 16))[0]


def f16_value(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def f32_value(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    if dtype == "BF16":
        return struct.pack(f"<{len(values)}H", *(bf16_bits(v) for v in values))
    raise ValueError(dtype)


def transpose(values, rows, cols):
    return [values[r * cols + c] for c in range(cols) for r in range(rows)]


def make(folder, L, NH, C, maxT, V, dtype, prefix, lm_head, masks, seed, hub_config):
    rng = random.Random(seed)
    narrow = {"F32": f32_value, "F16": f16_value, "BF16": bf16_value}[dtype]

    def values(n, center=0.0, scale=0.02):
        return [narrow(rng.gauss(center, scale)) for _ in range(n)]

    hf = {}  # key -> (shape, values), transformers' layout: Conv1D weights (in, out)
    hf["wte.weight"] = ([V, C], values(V * C))
    hf["wpe.weight"] = ([maxT, C], values(maxT * C, scale=0.01))
    for l in range(L):
        p = f"h.{l}."
        hf[p + "ln_1.weight"] = ([C], values(C, 1.0, 0.1))
        hf[p + "ln_1.bias"] = ([C], values(C))
        hf[p + "attn.c_attn.weight"] = ([C, 3 * C], values(C * 3 * C))
        hf[p + "attn.c_attn.bias"] = ([3 * C], values(3 * C))
        hf[p + "attn.c_proj.weight"] = ([C, C], values(C * C))
        hf[p + "attn.c_proj.bias"] = ([C], values(C))
        hf[p + "ln_2.weight"] = ([C], values(C, 1.0, 0.1))
        hf[p + "ln_2.bias"] = ([C], values(C))
        hf[p + "mlp.c_fc.weight"] = ([C, 4 * C], values(C * 4 * C))
        hf[p + "mlp.c_fc.bias"] = ([4 * C], values(4 * C))
        hf[p + "mlp.c_proj.weight"] = ([4 * C, C], values(4 * C * C))
        hf[p + "mlp.c_proj.bias"] = ([C], values(C))
    hf["ln_f.weight"] = ([C], values(C, 1.0, 0.1))
    hf["ln_f.bias"] = ([C], values(C))

    stored = {prefix + k: v for k, v in hf.items()}
    if lm_head:
        stored["lm_head.weight"] = hf["wte.weight"]
    if masks:  # older transformers saved the causal mask buffers
        for l in range(L):
            stored[f"{prefix}h.{l}.attn.bias"] = ([1, 1, maxT, maxT], [1.0 if j <= i else 0.0 for i in range(maxT) for j in range(maxT)])
            stored[f"{prefix}h.{l}.attn.masked_bias"] = ([], [-1e4])

    # data in one shuffled order, header keys in another
    names = list(stored)
    rng.shuffle(names)
    data, header, offset = b"", {}, 0
    for name in names:
        shape, vals = stored[name]
        blob = encode(vals, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        data += blob
        offset += len(blob)
    keys = list(header)
    rng.shuffle(keys)
    text = json.dumps({"__metadata__": {"format": "pt"}, **{k: header[k] for k in keys}}).encode()
    text += b" " * (-len(text) % 8)

    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    config = {"model_type": "gpt2", "vocab_size": V, "n_positions": maxT, "n_embd": C, "n_layer": L, "n_head": NH,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05}
    if hub_config:  # the hub's GPT-2 config also names n_ctx and the task heads
        config.update({"n_ctx": maxT, "architectures": ["GPT2LMHeadModel"], "resid_pdrop": 0.1, "summary_type": "cls_index"})
    else:
        config.update({"n_inner": None, "tie_word_embeddings": True, "torch_dtype": "bfloat16" if dtype == "BF16" else "float32"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    # llm.c's write_model: header, then the parameters in train_gpt2.c's order, layers stacked per tensor
    Vp = (V + 127) // 128 * 128
    params = hf["wte.weight"][1] + [0.0] * ((Vp - V) * C) + hf["wpe.weight"][1]
    per_layer = [("ln_1.weight", None), ("ln_1.bias", None), ("attn.c_attn.weight", (C, 3 * C)), ("attn.c_attn.bias", None),
                 ("attn.c_proj.weight", (C, C)), ("attn.c_proj.bias", None), ("ln_2.weight", None), ("ln_2.bias", None),
                 ("mlp.c_fc.weight", (C, 4 * C)), ("mlp.c_fc.bias", None), ("mlp.c_proj.weight", (4 * C, C)), ("mlp.c_proj.bias", None)]
    for name, conv in per_layer:
        for l in range(L):
            vals = hf[f"h.{l}.{name}"][1]
            params += transpose(vals, *conv) if conv else vals
    params += hf["ln_f.weight"][1] + hf["ln_f.bias"][1]
    header_ints = [20240326, 3, maxT, V, L, NH, C, Vp] + [0] * 248
    with open(os.path.join(folder, "expected.bin"), "wb") as f:
        f.write(struct.pack("<256i", *header_ints) + struct.pack(f"<{len(params)}f", *params))
    if dtype == "F32":
        header_ints[1] = 5
        with open(os.path.join(folder, "expected_bf16.bin"), "wb") as f:
            f.write(struct.pack("<256i", *header_ints) + struct.pack(f"<{len(params)}H", *(bf16_bits(v) for v in params)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Gpt2.Tests/Fixtures/huggingface"
    # the hub's original layout: no prefix, mask buffers, no lm_head
    make(os.path.join(out, "hub-f32"), L=2, NH=3, C=12, maxT=9, V=61, dtype="F32", prefix="", lm_head=False, masks=True, seed=1, hub_config=True)
    # save_pretrained's layout: transformer. prefix, the tied head written out
    make(os.path.join(out, "prefixed-bf16"), L=3, NH=2, C=8, maxT=5, V=130, dtype="BF16", prefix="transformer.", lm_head=True, masks=False, seed=2, hub_config=False)
    make(os.path.join(out, "prefixed-f16"), L=1, NH=1, C=4, maxT=3, V=50, dtype="F16", prefix="transformer.", lm_head=False, masks=True, seed=3, hub_config=False)


if __name__ == "__main__":
    main()
