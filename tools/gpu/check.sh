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

phase "verify every fixture on CUDA (ILGPU GEMM kernel and cuBLAS fp32)"
for f in Gpt2.Tests/Fixtures/*/; do
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

phase "GPT-2 124M reference (float64 PyTorch on the GPU), B=4 T=64, then verify on CUDA"
rm -rf /tmp/d12
timeout 200 python3 tools/reference/gpt2_reference.py --descriptor d12 --batch 4 --seq 64 --seed 7 --device cuda --out /tmp/d12
for mm in kernel cublas; do
  timeout 120 "$app" verify --backend ilgpu-cuda --matmul "$mm" --model /tmp/d12/model.bin --state /tmp/d12/state.bin \
    --expected-losses /tmp/d12/losses.txt --expected-model /tmp/d12/model_final.bin > /tmp/verify.txt 2>&1
  echo "d12 $mm: rc=$?"
  cat /tmp/verify.txt
done

phase "training throughput, d12, T=1024"
timeout 100 "$app" bench -e d12 -b 8 -t 1024 --backend ilgpu-cuda --matmul cublas-tf32 --steps 3 --warmup 1 --profile > /tmp/bench.txt 2>&1
echo "ours B=8 cublas-tf32, profiled: rc=$?"; grep -A40 "^median" /tmp/bench.txt
for run in "8 kernel" "8 cublas" "8 cublas-tf32" "16 cublas-tf32" "24 cublas-tf32"; do
  set -- $run
  timeout 100 "$app" bench -e d12 -b "$1" -t 1024 --backend ilgpu-cuda --matmul "$2" --steps 4 --warmup 1 > /tmp/bench.txt 2>&1
  echo "ours B=$1 $2: rc=$? $(tail -1 /tmp/bench.txt)"
done

phase done
