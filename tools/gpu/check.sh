#!/usr/bin/env bash
# One prepared run on a lent NVIDIA GPU machine, which has CUDA and PyTorch but no .NET and no network.
# Before the call, on the build machine (see tools/gpu/README.md):
#   dotnet publish Gpt2.Samples -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
#     -p:EnableCompressionInSingleFile=true -p:InvariantGlobalization=true -p:DebugType=none -o artifacts/gpu
# Writes its log and per-check outputs to $OUT. Each phase has its own time limit so a slow one cannot eat the rest.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
OUT="${OUT:-$root/out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
app="$root/artifacts/gpu/gpt2"
chmod +x "$app"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
phase() { echo; echo "=== $* (t=${SECONDS}s)"; }
# GPT2_GPU_PHASES picks phases by name (default all): fixtures ops d12 bench flash nccl hf
want() { [[ " ${GPT2_GPU_PHASES:-fixtures ops d12 bench flash nccl hf} " == *" $1 "* ]]; }

phase device
nvidia-smi -L
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
# CUDA 13's cuBLAS may live in the toolkit or in the NVIDIA Python wheels; put whichever exists on the loader path.
libs=$(python3 - <<'PY' 2>/dev/null
import os, importlib
dirs = []
try:
    import nvidia
    for base in nvidia.__path__:
        for sub in os.listdir(base):
            d = os.path.join(base, sub, "lib")
            if os.path.isdir(d): dirs.append(d)
except Exception:
    pass
print(":".join(dirs))
PY
)
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && libs="$libs:$d"; done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$libs"
echo "cublas candidates:"; for d in ${libs//:/ }; do ls "$d"/libcublas.so* 2>/dev/null; done | head -5
timeout 60 "$app" devices

want fixtures && phase "verify every fixture on CUDA (ILGPU GEMM kernel and cuBLAS fp32)"
want fixtures && for f in Gpt2.Tests/Fixtures/*/; do
  [ -f "$f/model.bin" ] || continue # huggingface/ holds import fixtures, not training ones
  name=$(basename "$f")
  for mm in kernel cublas; do
    timeout 90 "$app" verify --backend ilgpu-cuda --matmul "$mm" --model "$f/model.bin" --state "$f/state.bin" \
      --expected-losses "$f/losses.txt" --expected-model "$f/model_final.bin" > /tmp/verify.txt 2>&1
    rc=$?
    echo "$name $mm: rc=$rc $(tail -1 /tmp/verify.txt)"
    [ $rc -ne 0 ] && grep -E "FAIL|rror|xception" /tmp/verify.txt | head -8
    { echo "### $name $mm"; cat /tmp/verify.txt; } >> "$OUT/verify-fixtures.txt"
  done
done

want ops && phase "every op on CUDA against the CPU backend (odd small shapes and GPT-2 124M's at B=4, T=1024)"
want ops && for mm in ${GPT2_GPU_OP_ENGINES:-kernel cublas cublas-tf32}; do
  timeout 150 "$app" verify-ops --backend ilgpu-cuda --matmul "$mm" --size all > /tmp/ops.txt 2>&1
  echo "verify-ops $mm: rc=$? $(tail -1 /tmp/ops.txt)"
  grep -E "FAIL|rror|xception" /tmp/ops.txt | head -8
  { echo "### $mm"; cat /tmp/ops.txt; } >> "$OUT/verify-ops.txt"
done

if want d12; then
phase "GPT-2 124M reference (float64 PyTorch on the GPU), B=4 T=64, then verify on CUDA"
rm -rf /tmp/d12
timeout 200 python3 tools/reference/gpt2_reference.py --descriptor d12 --batch 4 --seq 64 --seed 7 --device cuda --out /tmp/d12
for mm in kernel cublas; do
  timeout 120 "$app" verify --backend ilgpu-cuda --matmul "$mm" --model /tmp/d12/model.bin --state /tmp/d12/state.bin \
    --expected-losses /tmp/d12/losses.txt --expected-model /tmp/d12/model_final.bin > /tmp/verify.txt 2>&1
  echo "d12 $mm: rc=$?"
  cat /tmp/verify.txt
done
fi

timeout 60 "$app" init -e d12 -o /tmp/d12_init.bin > /dev/null
if want bench; then
phase "training throughput, d12, T=1024 (one random init shared by every run)"
timeout 100 "$app" bench -e /tmp/d12_init.bin -b 8 -t 1024 --backend ilgpu-cuda --matmul cublas-tf32 --steps 3 --warmup 1 --profile > /tmp/bench.txt 2>&1
echo "ours B=8 cublas-tf32, profiled: rc=$?"; grep -A40 "^median" /tmp/bench.txt
for run in ${GPT2_GPU_BENCH_RUNS:-"8:kernel" "8:cublas" "8:cublas-tf32" "16:cublas-tf32" "32:cublas-tf32" "48:cublas-tf32"}; do
  b=${run%%:*} mm=${run#*:}
  timeout 100 "$app" bench -e /tmp/d12_init.bin -b "$b" -t 1024 --backend ilgpu-cuda --matmul "$mm" --steps 5 --warmup 1 > /tmp/bench.txt 2>&1
  echo "ours B=$b $mm: rc=$? $(tail -1 /tmp/bench.txt)"
done
fi

if want flash; then
phase "flash attention on CUDA: every fixture and d12 verified, attention and step times against standard and PyTorch SDPA"
for f in Gpt2.Tests/Fixtures/*/; do
  [ -f "$f/model.bin" ] || continue
  timeout 90 "$app" verify --backend ilgpu-cuda --matmul kernel --attention flash --model "$f/model.bin" --state "$f/state.bin" \
    --expected-losses "$f/losses.txt" --expected-model "$f/model_final.bin" > /tmp/verify.txt 2>&1
  rc=$?; echo "$(basename "$f") flash: rc=$rc $(tail -1 /tmp/verify.txt)"
done
if [ -f /tmp/d12/model.bin ]; then
  timeout 120 "$app" verify --backend ilgpu-cuda --matmul cublas --attention flash --model /tmp/d12/model.bin --state /tmp/d12/state.bin \
    --expected-losses /tmp/d12/losses.txt --expected-model /tmp/d12/model_final.bin > /tmp/verify.txt 2>&1
  rc=$?; echo "d12 flash: rc=$rc $(tail -1 /tmp/verify.txt)"; grep -E "FAIL" /tmp/verify.txt | head -5
fi
for b in ${GPT2_GPU_FLASH_BATCHES:-8 16 32 64}; do
  for kind in standard flash; do
    timeout 100 "$app" bench -e /tmp/d12_init.bin -b "$b" -t 1024 --backend ilgpu-cuda --matmul cublas-tf32 --attention "$kind" \
      --steps 3 --warmup 1 --profile > /tmp/bench.txt 2>&1
    rc=$?; echo "ours B=$b $kind: rc=$rc $(grep -E '^median' /tmp/bench.txt)"
    grep -E "Attention(Forward|Backward)|^activations" /tmp/bench.txt | head -4
  done
done
timeout 200 python3 tools/gpu/sdpa_bench.py --batches "$(echo ${GPT2_GPU_FLASH_BATCHES:-8 16 32 64} | tr ' ' ',')"
fi

if want nccl; then
phase "NCCL on one GPU (world size 1): all-reduce check and bandwidth, then training through it"
timeout 60 "$app" bench-allreduce --collectives nccl --iterations 10 --warmup 2
train() { timeout 120 "$app" train -e d12 -b 4 -t 256 -x 6 -v 3 -m 2 -s 0 -g 8 --backend ilgpu-cuda --matmul cublas "$@" 2>&1; }
train --collectives host > /tmp/host.txt; echo "host: rc=$?"
train --collectives nccl > /tmp/nccl.txt; echo "nccl: rc=$?"
train --collectives nccl -z 1 > /tmp/nccl-z1.txt; echo "nccl -z 1: rc=$?"
grep -E "collectives|rror" /tmp/nccl.txt /tmp/nccl-z1.txt | head -6
for f in host nccl nccl-z1; do
  grep -oE "^(step +[0-9]+/[0-9]+: loss [0-9.]+|val loss [0-9.]+ at step [0-9]+)" /tmp/$f.txt > /tmp/$f.losses
  echo "$f: $(tr '\n' ' ' < /tmp/$f.losses | cut -c1-400)"
done
cmp -s /tmp/host.losses /tmp/nccl.losses && cmp -s /tmp/host.losses /tmp/nccl-z1.losses && [ -s /tmp/host.losses ] \
  && echo "NCCL: losses identical to host collectives (plain and ZeRO-1)" || echo "NCCL: LOSSES DIFFER"
grep -E "comm" /tmp/nccl-z1.txt | tail -2
fi

if want hf; then
phase "Hugging Face interop against transformers (CPU): import -> verify, export -> from_pretrained, tokenizer"
timeout 300 python3 tools/huggingface/check_transformers.py "$app" "$OUT/hf" 2>&1 | grep -v Warning
echo "hf: rc=${PIPESTATUS[0]}"
rm -rf "$OUT/hf"/hf-* "$OUT/hf"/*.bin
fi

phase done
