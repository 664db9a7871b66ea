#!/usr/bin/env bash
# Regenerates the small committed fixtures of Gpt2.Tests/Fixtures from gpt2_reference.py.
# Shapes are chosen to be multiples of nothing: C not a multiple of 8, odd head counts, T=1, T=maxT,
# Vp=V, B*T odd, and "hot" inits with large weights, random biases and non-zero wte padding rows.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../Gpt2.Tests/Fixtures}"
py=/usr/bin/python3
gen() { "$py" "$here/gpt2_reference.py" --threads 1 "$@"; }
gen --out "$out/tiny"      --layers 2 --heads 3 --channels 12 --vocab 61  --max-seq 8  --batch 2 --seq 5  --seed 1 --init standard
gen --out "$out/hot"       --layers 2 --heads 3 --channels 21 --vocab 100 --max-seq 9  --batch 3 --seq 7  --seed 2 --init hot
gen --out "$out/vp-eq-v"   --layers 1 --heads 5 --channels 15 --vocab 64 --padded-vocab 64 --max-seq 6 --batch 1 --seq 6 --seed 3 --init hot
gen --out "$out/t1"        --layers 3 --heads 1 --channels 9  --vocab 50  --max-seq 4  --batch 3 --seq 1  --seed 4 --init hot
gen --out "$out/bf16"      --layers 2 --heads 2 --channels 16 --vocab 70  --max-seq 8  --batch 2 --seq 8  --seed 5 --init hot --format 5
gen --out "$out/wide"      --layers 2 --heads 4 --channels 36 --vocab 300 --max-seq 16 --batch 2 --seq 13 --seed 6 --init standard
