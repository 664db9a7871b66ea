"""PyTorch's scaled_dot_product_attention, causal, forward + backward at GPT-2 124M shapes, on the GPU.

Prints one line per (dtype, backend, B) with milliseconds and TFLOP/s counted as gpt2's profile counts attention
(forward 2·B·T·(T+1)·C, backward twice that: the causal half of QKᵀ and PV, and of their gradients), so the
figures compare with `gpt2 bench --profile` lines FlashAttentionForward/FlashAttentionBackward.
fp32 runs on the memory-efficient kernel (the flash kernel takes only fp16/bf16); bf16 on the flash kernel.
"""
import argparse
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

p = argparse.ArgumentParser()
p.add_argument("--batches", default="8,16,32,64")
p.add_argument("--seq", type=int, default=1024)
p.add_argument("--heads", type=int, default=12)
p.add_argument("--head-size", type=int, default=64)
p.add_argument("--iterations", type=int, default=10)
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

for dtype, backend in ((torch.float32, SDPBackend.EFFICIENT_ATTENTION), (torch.bfloat16, SDPBackend.FLASH_ATTENTION)):
    for b in map(int, a.batches.split(",")):
        t, nh, hs = a.seq, a.heads, a.head_size
        c = nh * hs
        try:
            q, k, v = (torch.randn(b, nh, t, hs, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
            d = torch.randn(b, nh, t, hs, device="cuda", dtype=dtype)
            with sdpa_kernel(backend):
                def step():
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                    o.backward(d)
                    return o
                for _ in range(3):
                    step()
                torch.cuda.synchronize()
                fwd_start, fwd_end, end = (torch.cuda.Event(enable_timing=True) for _ in range(3))
                fwd_ms = bwd_ms = 0.0
                torch.cuda.reset_peak_memory_stats()
                for _ in range(a.iterations):
                    fwd_start.record()
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                    fwd_end.record()
                    o.backward(d)
                    end.record()
                    torch.cuda.synchronize()
                    fwd_ms += fwd_start.elapsed_time(fwd_end)
                    bwd_ms += fwd_end.elapsed_time(end)
            fwd_ms /= a.iterations
            bwd_ms /= a.iterations
            flops_f = 2.0 * b * t * (t + 1) * c
            print(f"sdpa {str(dtype).split('.')[-1]} {backend.name.lower()} B={b} T={t} hs={hs}: forward {fwd_ms:.3f} ms "
                  f"({flops_f / fwd_ms / 1e9:.1f} TFLOP/s), backward {bwd_ms:.3f} ms ({2 * flops_f / bwd_ms / 1e9:.1f} TFLOP/s), "
                  f"peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB", flush=True)
            del q, k, v, d
            torch.cuda.empty_cache()
        except Exception as e:  # an unsupported backend or out of memory: say so, go on
            print(f"sdpa {dtype} {backend} B={b}: {type(e).__name__}: {str(e)[:200]}", flush=True)
