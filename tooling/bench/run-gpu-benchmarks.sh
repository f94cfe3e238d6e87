#!/usr/bin/env bash
# Runs the project's GPU benchmarks and their PyTorch baselines in one go, on one machine, so every
# figure in a table comes from the same card. Needs Node with onnxruntime-node resolvable from the
# repository root, and python3 with PyTorch + transformers. Bundle the scripts first (each package's
# `pnpm bench` does it for its own), e.g. from the root:
#   for b in hf-gpt2/bench/forward-throughput quant-core/bench/quantize-time \
#     nanogpt/bench/decode-throughput tripy-loader/bench/device-check; do
#     pnpm exec tsup --config tooling/bench/tsup.config.ts --silent packages/$b.ts; done
#   tooling/bench/run-gpu-benchmarks.sh <results folder>
set -uo pipefail
RESULTS="${1:-bench-results}"
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1
RANDOM_GPT2=/tmp/ptq-bench-gpt2-124m
ARTICLES=packages/calibration/data/frank_test.jsonl
step() { echo; echo "=== $1 ($(date +%T))"; shift; timeout "$@" || echo "step failed or timed out: exit $?"; }

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
step "runtime checks on webgpu (issue: runtime)" 150 node .bench/device-check.js --device webgpu --out "$RESULTS/device-check-webgpu.json"
step "HF forward, webgpu" 120 node .bench/forward-throughput.js --device webgpu --runs 7 --out "$RESULTS/hf-forward-webgpu.json"
step "HF forward, cpu" 90 node .bench/forward-throughput.js --device cpu --runs 5 --lengths 1,128,1024 --out "$RESULTS/hf-forward-cpu.json"
step "decode, webgpu" 150 node .bench/decode-throughput.js --device webgpu --prompt 32 --tokens 128
cp bench-results/nanogpt-decode.json "$RESULTS/nanogpt-decode-webgpu.json" 2>/dev/null
step "PyTorch baselines (forward, generate)" 120 python3 tooling/bench/pytorch_baselines.py \
  --model default=packages/default-model/model --model gpt2-124m="$RANDOM_GPT2" --out "$RESULTS/pytorch-baselines.json"
step "quantize, 124M, webgpu" 180 node .bench/quantize-time.js --model gpt2-124m --device webgpu --out "$RESULTS/quantize-124m-webgpu.json"
step "PyTorch reference quantize, 124M, cuda" 90 python3 tooling/reference/time_reference.py --model "$RANDOM_GPT2" \
  --articles "$ARTICLES" --device cuda --out "$RESULTS/reference-quantize-124m-cuda.json"
step "quantize, default model, cpu" 90 node .bench/quantize-time.js --model default --device cpu --out "$RESULTS/quantize-default-cpu.json"
step "PyTorch reference quantize, default model, cpu" 90 python3 tooling/reference/time_reference.py \
  --model packages/default-model/model --articles "$ARTICLES" --device cpu --out "$RESULTS/reference-quantize-default-cpu.json"
