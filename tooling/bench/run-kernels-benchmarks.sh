#!/usr/bin/env bash
# The kernels engine's GPU measurements in one go, on one machine: decode (greedy and sampled on the
# device) against PyTorch's `generate` (eager, and the static-cache torch.compile variant), GPU time
# per step kernel, 512-token prefill, agreement with onnxruntime on the CPU, Dawn's dispatch cost,
# and quantize time against the PyTorch reference. Bundle first, from the root:
#   for b in decode-throughput kernel-profile engine-agreement dawn-dispatch-cost; do
#     (cd packages/nanogpt && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/$b.ts); done
#   (cd packages/quant-core && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/quantize-time.ts)
#   (cd tooling/bench && pnpm exec tsup --config tsup.config.ts --silent decode-rounds.ts)
#   tooling/bench/run-kernels-benchmarks.sh <results folder>
set -uo pipefail
RESULTS="${1:-bench-results}"
ROUNDS="$RESULTS/rounds"
mkdir -p "$ROUNDS"
export PYTHONUNBUFFERED=1
ONLY=none/float16,int8-weight-only/float16,int4-weight-only/float16,float8/float16
step() { echo; echo "=== $1 ($(date +%T))"; shift; timeout "$@" || echo "step failed or timed out: exit $?"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
step "decode kernels, round 1" 90 node .bench/decode-throughput.js --engine kernels --device webgpu --prompt 32 --tokens 128 \
  --only $ONLY --device-choice-only --sample --out "$ROUNDS/ptq-1-kernels.json"
step "pytorch, round 1" 240 python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward --compiled --extra \
  --out "$ROUNDS/pytorch-1.json"
step "kernel profile" 90 node .bench/kernel-profile.js --out "$RESULTS/kernel-profile.json"
step "quantize 124M webgpu" 150 node .bench/quantize-time.js --model gpt2-124m --device webgpu --out "$RESULTS/quantize-webgpu.json"
step "reference quantize 124M cuda" 60 python3 tooling/reference/time_reference.py --model /tmp/ptq-bench-gpt2-124m \
  --articles packages/calibration/data/frank_test.jsonl --device cuda --out "$RESULTS/reference-quantize.json"
step "pytorch, round 2" 180 python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward --compiled \
  --out "$ROUNDS/pytorch-2.json"
step "decode kernels, round 2" 70 node .bench/decode-throughput.js --engine kernels --device webgpu --prompt 32 --tokens 128 \
  --only $ONLY --device-choice-only --skip-checks --out "$ROUNDS/ptq-2-kernels.json"
step "rounds summary" 20 node .bench/decode-rounds.js --dir "$ROUNDS" --out "$RESULTS/decode-rounds.json"
step "engine agreement" 120 node .bench/engine-agreement.js --out "$RESULTS/engine-agreement.json"
step "dawn dispatch cost" 30 node .bench/dawn-dispatch-cost.js --out "$RESULTS/dawn-dispatch-cost.json"
