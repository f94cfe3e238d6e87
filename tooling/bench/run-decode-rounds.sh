#!/usr/bin/env bash
# Decode speed against PyTorch's `generate`, alternated over several rounds on one machine: each
# round runs PyTorch's baselines and ptq's decode benchmark in one process each (the order flips
# every round), then `decode-rounds.js` prints each configuration's per-round figures, medians and
# ratios. One process's figures move by up to 40% with the host's load; rounds show that spread.
# Bundle first, from the root:
#   (cd packages/nanogpt && pnpm exec tsup --config ../../tooling/bench/tsup.config.ts --silent bench/decode-throughput.ts)
#   (cd tooling/bench && pnpm exec tsup --config tsup.config.ts --silent decode-rounds.ts)
#   tooling/bench/run-decode-rounds.sh <results folder> [rounds] [configurations] [engines]
# configurations: decode-throughput's --only list (default: the four modes in float16); engines: a
# comma-separated list of decode-throughput's --engine values (default: kernels,onnxruntime), one
# process each per round. PyTorch's baselines include the static-cache torch.compile variant.
set -uo pipefail
RESULTS="${1:-bench-results}"
ROUNDS="${2:-5}"
ONLY="${3:-none/float16,int8-weight-only/float16,int4-weight-only/float16,float8/float16}"
ENGINES="${4:-kernels,onnxruntime}"
ROUNDS_DIR="$(mktemp -d)"
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1
pytorch() {
  timeout 300 python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward --compiled \
    --out "$ROUNDS_DIR/pytorch-$1.json" >/dev/null || echo "round $1: PyTorch failed: exit $?"
}
ptq() {
  for engine in ${ENGINES//,/ }; do
    timeout 300 node .bench/decode-throughput.js --device webgpu --engine "$engine" --operators fused \
      --device-choice-only --skip-checks --only "$ONLY" --out "$ROUNDS_DIR/ptq-$1-$engine.json" >/dev/null 2>&1 ||
      echo "round $1: ptq $engine failed: exit $?"
  done
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round ($(date +%T))"
  if ((round % 2 == 1)); then pytorch "$round"; ptq "$round"; else ptq "$round"; pytorch "$round"; fi
  tar -C "$ROUNDS_DIR" -cf "$RESULTS/decode-rounds-raw.tar" . # each round's files, kept if cut short
done
node .bench/decode-rounds.js --dir "$ROUNDS_DIR" --out "$RESULTS/decode-rounds.json"
