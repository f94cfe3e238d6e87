#!/usr/bin/env bash
# The kernels engine's GPU measurements, on one machine, in phases that each fit one 10-minute call.
# `decode`: decode (greedy and sampled on the device) in a round alternated with PyTorch's `generate`
# (eager and sdpa, then the static-cache torch.compile variant as its own step), GPU time per step
# kernel, 512-token prefill, Dawn's dispatch cost, the decode linear's time per rows-per-workgroup
# setting, batch-32 decode.
# `quantize`: agreement with onnxruntime, quantize time against the PyTorch reference, the onnxruntime
# engine's decode round. `rounds`: two more alternated rounds (kernels, PyTorch eager and sdpa, PyTorch
# compiled). Each phase's rounds start at the round number given, so calls add rounds to one folder.
# Bundle first, from the root:
#   for b in decode-throughput kernel-profile engine-agreement dawn-dispatch-cost linear-variants; do
#     (cd packages/nanogpt && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/$b.ts); done
#   (cd packages/quant-core && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/quantize-time.ts)
#   (cd tooling/bench && pnpm exec tsup --config tsup.config.ts --silent decode-rounds.ts)
#   tooling/bench/run-kernels-benchmarks.sh <results folder> [decode|quantize|rounds, comma-separated] [first round]
# With PACK_TO set, the results folder is archived to "$PACK_TO/results.tar" after every step, so a
# call cut off by its time limit still returns what finished.
set -uo pipefail
RESULTS="${1:-bench-results}"
PHASES=",${2:-decode,quantize},"
ROUND="${3:-1}"
ROUNDS="$RESULTS/rounds"
mkdir -p "$ROUNDS"
export PYTHONUNBUFFERED=1
ONLY=none/float16,int8-weight-only/float16,int4-weight-only/float16,float8/float16
RANDOM_GPT2=/tmp/ptq-bench-gpt2-124m
wanted() { [[ "$PHASES" == *",$1,"* ]]; }
pack() { if [[ -n "${PACK_TO:-}" ]]; then tar -cf "$PACK_TO/results.tar" -C "$RESULTS" .; fi; }
step() {
  echo; echo "=== $1 ($(date +%T))"; shift
  timeout "$@" || echo "step failed or timed out: exit $?"
  pack
}
kernels_round() {
  step "decode kernels, round $1" "$2" node .bench/decode-throughput.js --engine kernels --device webgpu --prompt 32 --tokens 128 \
    --only $ONLY --device-choice-only "${@:3}" --out "$ROUNDS/ptq-$1-kernels.json"
}
pytorch_round() {
  step "pytorch eager and sdpa, round $1" 90 python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward \
    "${@:2}" --out "$ROUNDS/pytorch-$1.json"
}
compiled_round() {
  step "pytorch static cache + torch.compile, round $1" 170 python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random \
    --skip-forward --only-compiled --out "$ROUNDS/pytorch-$1-compiled.json"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$RESULTS/gpu.txt"
if wanted decode; then
  kernels_round "$ROUND" 100 --sample
  pytorch_round "$ROUND" --extra
  compiled_round "$ROUND"
  step "kernel profile" 75 node .bench/kernel-profile.js --out "$RESULTS/kernel-profile.json"
  step "decode linear rows per workgroup" 45 node .bench/linear-variants.js --out "$RESULTS/linear-variants.json"
  step "dawn dispatch cost" 30 node .bench/dawn-dispatch-cost.js --out "$RESULTS/dawn-dispatch-cost.json"
  step "decode kernels, batch 32" 90 node .bench/decode-throughput.js --engine kernels --device webgpu --prompt 32 --tokens 128 \
    --batch 32 --only $ONLY --device-choice-only --skip-checks --out "$RESULTS/decode-batch-32.json"
fi
if wanted quantize; then
  step "engine agreement" 90 node .bench/engine-agreement.js --out "$RESULTS/engine-agreement.json"
  step "quantize 124M webgpu" 200 node .bench/quantize-time.js --model gpt2-124m --device webgpu --out "$RESULTS/quantize-webgpu.json"
  step "reference quantize 124M cuda" 60 python3 tooling/reference/time_reference.py --model "$RANDOM_GPT2" \
    --articles packages/calibration/data/frank_test.jsonl --device cuda --out "$RESULTS/reference-quantize.json"
  step "decode onnxruntime, round $ROUND" 120 node .bench/decode-throughput.js --engine onnxruntime --device webgpu --prompt 32 \
    --tokens 128 --only $ONLY --operators fused --skip-checks --out "$ROUNDS/ptq-$ROUND-onnxruntime.json"
  pytorch_round "$ROUND"
  kernels_round "$ROUND" 80 --skip-checks
fi
if wanted rounds; then
  for round in "$ROUND" "$((ROUND + 1))"; do
    kernels_round "$round" 80 --skip-checks
    pytorch_round "$round"
    compiled_round "$round"
  done
fi
step "rounds summary" 20 node .bench/decode-rounds.js --dir "$ROUNDS" --out "$RESULTS/decode-rounds.json"
