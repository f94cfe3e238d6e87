#!/usr/bin/env bash
# Runs the project's GPU benchmarks and their PyTorch baselines in one go, on one machine, so every
# figure in a table comes from the same card. Needs Node with onnxruntime-node resolvable from the
# repository root, and python3 with PyTorch + transformers. Bundle the scripts first (each package's
# `pnpm bench` does it for its own), e.g. from the root:
#   for b in hf-gpt2/bench/forward-throughput quant-core/bench/quantize-time onnx/bench/webgpu-overheads \
#     nanogpt/bench/decode-throughput nanogpt/bench/linear-kernels nanogpt/bench/split-products \
#     nanogpt/bench/target-scoring tripy-loader/bench/device-check; do
#     pnpm exec tsup --config tooling/bench/tsup.config.ts --silent packages/$b.ts; done
#   tooling/bench/run-gpu-benchmarks.sh <results folder> [steps]
# steps: a comma-separated subset of checks,forward,decode,pytorch,quantize (default: all).
set -uo pipefail
RESULTS="${1:-bench-results}"
STEPS=",${2:-checks,forward,decode,pytorch,quantize},"
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1
RANDOM_GPT2=/tmp/ptq-bench-gpt2-124m
ARTICLES=packages/calibration/data/frank_test.jsonl
wanted() { [[ "$STEPS" == *",$1,"* ]]; }
step() { echo; echo "=== $1 ($(date +%T))"; shift; timeout "$@" || echo "step failed or timed out: exit $?"; }

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
if wanted checks; then
  step "runtime checks on webgpu (issue: runtime)" 150 node .bench/device-check.js --device webgpu --out "$RESULTS/device-check-webgpu.json"
fi
if wanted forward; then
  step "HF forward, webgpu" 120 node .bench/forward-throughput.js --device webgpu --runs 7 --out "$RESULTS/hf-forward-webgpu.json"
  step "HF forward, cpu" 90 node .bench/forward-throughput.js --device cpu --runs 5 --lengths 1,128,1024 --out "$RESULTS/hf-forward-cpu.json"
fi
if wanted decode; then
  step "WebGPU host overheads" 60 node .bench/webgpu-overheads.js --out "$RESULTS/webgpu-overheads.json"
  step "decode, webgpu" 400 node .bench/decode-throughput.js --device webgpu --prompt 32 --tokens 128 --operators fused --profile \
    --out "$RESULTS/nanogpt-decode-webgpu.json"
  step "decode, webgpu, host cost (tiny shape)" 120 node .bench/decode-throughput.js --device webgpu --shape tiny --prompt 32 \
    --tokens 128 --operators fused --only none/float16,int8-weight-only/float16,int4-weight-only/float16,float8/float16 \
    --out "$RESULTS/nanogpt-decode-tiny-webgpu.json"
  step "one-row linear kernels, webgpu" 120 node .bench/linear-kernels.js --out "$RESULTS/linear-kernels-webgpu.json"
  step "split products by prompt length, webgpu" 400 node .bench/split-products.js --device webgpu \
    --out "$RESULTS/split-products-webgpu.json"
  step "perplexity scoring, webgpu" 200 node .bench/target-scoring.js --device webgpu \
    --out "$RESULTS/target-scoring-webgpu.json"
fi
if wanted pytorch; then
  models=(--model gpt2-124m=random)
  if wanted forward; then models=(--model default=packages/default-model/model --model gpt2-124m="$RANDOM_GPT2"); fi
  step "PyTorch baselines (forward, generate)" 180 python3 tooling/bench/pytorch_baselines.py "${models[@]}" \
    $(wanted forward || echo --skip-forward) --out "$RESULTS/pytorch-baselines.json"
fi
if wanted quantize; then
  step "quantize, 124M, webgpu" 180 node .bench/quantize-time.js --model gpt2-124m --device webgpu --out "$RESULTS/quantize-124m-webgpu.json"
  step "PyTorch reference quantize, 124M, cuda" 90 python3 tooling/reference/time_reference.py --model "$RANDOM_GPT2" \
    --articles "$ARTICLES" --device cuda --out "$RESULTS/reference-quantize-124m-cuda.json"
  step "quantize, default model, cpu" 90 node .bench/quantize-time.js --model default --device cpu --out "$RESULTS/quantize-default-cpu.json"
  step "PyTorch reference quantize, default model, cpu" 90 python3 tooling/reference/time_reference.py \
    --model packages/default-model/model --articles "$ARTICLES" --device cpu --out "$RESULTS/reference-quantize-default-cpu.json"
fi
