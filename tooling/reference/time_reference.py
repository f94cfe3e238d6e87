"""Times the PyTorch reference's calibration + quantization per mode (no perplexity), on a chosen
device, with the seed's defaults (int8/fp8 64 samples batch 1, int4 16 samples batch 16): the baseline
for ptq's quantization benchmark, run on the same card in the same call.

    python3 tooling/reference/time_reference.py --model <folder> --articles <jsonl> --device cuda --out r.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).parent))
from modelopt_reference import awq_lite, batches, get_module, linear_names, run_with_inputs, weight_out_in  # noqa: E402

torch.set_grad_enabled(False)


def to_device(items, device):
    return [(ids.to(device), mask.to(device)) for ids, mask in items]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    eos = tokenizer.eos_token_id
    articles = [json.loads(line)["article"] for line in args.articles.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = []

    def load():
        return GPT2LMHeadModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").to(args.device).eval()

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    # int8 weight-only: per-channel max of the weights (ModelOpt still runs the 64-sample loop).
    model = load()
    sync()
    started = time.perf_counter()
    names = linear_names(model, with_lm_head=False)
    items = to_device(batches(tokenizer, articles, 64, 1, eos)[0], args.device)
    for batch in items:
        run_with_inputs(model, batch, [])
    amax = {name: weight_out_in(get_module(model, name)).abs().amax(dim=1, keepdim=True) for name in names}
    sync()
    results.append({"mode": "int8-weight-only", "seconds": time.perf_counter() - started})

    model = load()
    sync()
    started = time.perf_counter()
    names_fp8 = linear_names(model, with_lm_head=True)
    items = to_device(batches(tokenizer, articles, 64, 1, eos)[0], args.device)
    input_amax = {name: torch.tensor(0.0, device=args.device) for name in names_fp8}
    for batch in items:
        captured = run_with_inputs(model, batch, names_fp8)
        for name in names_fp8:
            input_amax[name] = torch.maximum(input_amax[name], captured[name].abs().max())
    weight_amax = {name: weight_out_in(get_module(model, name)).abs().max() for name in names_fp8}
    sync()
    results.append({"mode": "float8", "seconds": time.perf_counter() - started})

    model = load()
    sync()
    started = time.perf_counter()
    items = to_device(batches(tokenizer, articles, 16, 16, eos)[0], args.device)
    awq_lite(model, items, names)
    sync()
    results.append({"mode": "int4-weight-only", "seconds": time.perf_counter() - started})

    report = {"device": args.device, "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None, "torch": torch.__version__, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    for row in results:
        print(f"pytorch reference {row['mode']:>18} {args.device}: {row['seconds']:.2f} s")


if __name__ == "__main__":
    main()
