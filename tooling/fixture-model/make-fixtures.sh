#!/usr/bin/env bash
# Regenerates the embedded default model and every fixture computed with PyTorch, on a CUDA machine
# with PyTorch, transformers, tokenizers, safetensors and pyarrow.
#
#   tooling/fixture-model/make-fixtures.sh <data folder> <output folder>
#
# <data folder> holds pd-english/, frank_test.jsonl (CNN/DailyMail sample) and wiki.test.raw.
# The output folder receives model/, reference/, safetensors/ and parquet/; copy them to
# packages/default-model/{model,reference}, packages/safetensors/src/__fixtures__ and
# packages/calibration/src/__fixtures__.
set -euo pipefail
DATA="$1"
OUT_DIR="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT_DIR/reference"

python3 "$HERE/../reference/make_safetensors_fixture.py" "$OUT_DIR/safetensors"
python3 "$HERE/../reference/make_parquet_fixtures.py" "$DATA/frank_test.jsonl" "$DATA/wiki.test.raw" "$OUT_DIR/parquet" \
  || echo "pyarrow unavailable: parquet fixtures skipped" >&2
python3 "$HERE/train.py" --data "$DATA/pd-english" --out "$OUT_DIR/model"
python3 "$HERE/reference.py" --model "$OUT_DIR/model" --data "$DATA/pd-english" \
  --out "$OUT_DIR/reference/transformers-reference.json"
python3 "$HERE/../reference/modelopt_reference.py" --model "$OUT_DIR/model" --articles "$DATA/frank_test.jsonl" \
  --data "$DATA/pd-english" --out "$OUT_DIR/reference/modelopt-reference.json" \
  --logits-out "$OUT_DIR/reference/fake-quant-logits.safetensors"
