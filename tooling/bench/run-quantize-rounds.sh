#!/usr/bin/env bash
# Quantize time on a GPU against the PyTorch reference, in alternated rounds on one machine: each
# round runs ptq's `modelOptQuantize` on WebGPU (every mode, GPT-2-124M shape with random weights),
# then the PyTorch reference on CUDA (tooling/reference/time_reference.py), each in its own process.
# Bundle first, from the root:
#   (cd packages/quant-core && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/quantize-time.ts)
#   tooling/bench/run-quantize-rounds.sh <results folder> [rounds, default 3]
set -uo pipefail
RESULTS="${1:-bench-results/quantize-rounds}"
ROUNDS="${2:-3}"
mkdir -p "$RESULTS"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$RESULTS/gpu.txt"
for round in $(seq 1 "$ROUNDS"); do
  echo "=== ptq, round $round ($(date +%T))"
  timeout 200 node .bench/quantize-time.js --model gpt2-124m --device webgpu --out "$RESULTS/quantize-$round.json" |
    tail -5 || echo "ptq round $round failed or timed out"
  echo "=== pytorch reference, round $round ($(date +%T))"
  # The ptq run wrote the random checkpoint this reads.
  timeout 90 python3 tooling/reference/time_reference.py --model /tmp/ptq-bench-gpt2-124m \
    --articles packages/calibration/data/frank_test.jsonl --device cuda --out "$RESULTS/reference-$round.json" |
    grep "pytorch reference" || echo "reference round $round failed or timed out"
done
