"""PyTorch transformers baselines for ptq's benchmarks, measured on the same card in the same call:
forward tokens/s (eager, fp32, batch 1) and `generate` decode/prefill tokens/s (fp32 and fp16, eager
and sdpa attention, 32-token prompt, 128 new tokens, greedy).

    python3 tooling/bench/pytorch_baselines.py --model NAME=FOLDER [...] --out result.json
    python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward --out result.json
"""

import argparse
import json
import statistics
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def timed(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - started) * 1000)
    return times


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-forward", action="store_true")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    results = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "forward": [], "generate": []}
    for spec in args.model:
        name, folder = spec.split("=", 1)
        for attention in ("eager", "sdpa"):
            if folder == "random":
                # GPT-2-124M's shape with random weights: greedy decode time does not depend on the weights.
                torch.manual_seed(0)
                model = GPT2LMHeadModel._from_config(GPT2Config(), attn_implementation=attention, torch_dtype=torch.float32)
            else:
                model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32, attn_implementation=attention)
            model = model.cuda().eval()
            vocab = model.config.vocab_size
            if attention == "eager" and not args.skip_forward:
                for length in (1, 128, 1024):
                    ids = (torch.arange(length, device="cuda") * 7919 % min(5000, vocab)).unsqueeze(0)
                    times = timed(lambda: model(input_ids=ids), args.runs)
                    ms = statistics.median(times)
                    results["forward"].append({"model": name, "dtype": "float32", "length": length, "medianMs": ms, "tokensPerSecond": length / ms * 1000})
            for dtype in (torch.float32, torch.float16):
                typed = model.to(dtype)
                prompt = (torch.arange(32, device="cuda") * 7919 % min(5000, vocab)).unsqueeze(0)
                generate = lambda: typed.generate(prompt, max_new_tokens=128, min_new_tokens=128, do_sample=False, pad_token_id=0)
                total = statistics.median(timed(generate, 3, warmup=1))
                prefill = statistics.median(timed(lambda: typed(input_ids=prompt), args.runs))
                decode_ms = total - prefill
                results["generate"].append({
                    "model": name, "attention": attention, "dtype": str(dtype).replace("torch.", ""), "totalMs": total,
                    "prefillMs": prefill, "prefillTokensPerSecond": 32 / prefill * 1000,
                    "decodeTokensPerSecond": 128 / decode_ms * 1000,
                })
            del model
            torch.cuda.empty_cache()
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    for row in results["forward"]:
        print(f"pytorch forward {row['model']:>20} fp32 {row['length']:5d} tokens  {row['medianMs']:8.2f} ms  {row['tokensPerSecond']:10.0f} tok/s")
    for row in results["generate"]:
        print(f"pytorch generate {row['model']:>20} {row['attention']:5} {row['dtype']:8} decode {row['decodeTokensPerSecond']:8.1f} tok/s  prefill {row['prefillTokensPerSecond']:8.0f} tok/s")


if __name__ == "__main__":
    main()
