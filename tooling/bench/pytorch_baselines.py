"""PyTorch transformers baselines for ptq's benchmarks, measured on the same card in the same call:
forward tokens/s (eager, fp32, batch 1) and `generate` decode/prefill tokens/s (fp32 and fp16, eager
and sdpa attention, 32-token prompt, 128 new tokens, greedy). `--compiled` adds `generate` with a
static cache and the forward compiled by `torch.compile(mode="reduce-overhead")` (CUDA graphs), sdpa;
`--extra` adds a 512-token prefill (forward) and batch-32 `generate` decode, sdpa. `--only-compiled`
measures the compiled variant alone (fp16, sdpa), so it can run as its own timed step: compiling takes
a minute or more. The JSON file is rewritten after every measurement, so a step cut off by its time
limit still leaves what it measured.

    python3 tooling/bench/pytorch_baselines.py --model NAME=FOLDER [...] --out result.json
    python3 tooling/bench/pytorch_baselines.py --model gpt2-124m=random --skip-forward --compiled --out result.json
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
    parser.add_argument("--compiled", action="store_true")
    parser.add_argument("--extra", action="store_true")
    parser.add_argument("--only-compiled", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    progress = lambda message: print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    results = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "forward": [], "generate": [], "extra": [], "errors": []}
    def save():
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)

    for spec in args.model:
        name, folder = spec.split("=", 1)
        for attention in ("sdpa",) if args.only_compiled else ("eager", "sdpa"):
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
            for dtype in (torch.float16,) if args.only_compiled else (torch.float32, torch.float16):
                typed = model.to(dtype)
                prompt = (torch.arange(32, device="cuda") * 7919 % min(5000, vocab)).unsqueeze(0)
                if args.only_compiled:
                    prefill = statistics.median(timed(lambda: typed(input_ids=prompt), args.runs))
                    compiled(results, name, typed, prompt, prefill, "float16", progress, save)
                    continue
                generate = lambda: typed.generate(prompt, max_new_tokens=128, min_new_tokens=128, do_sample=False, pad_token_id=0)
                total = statistics.median(timed(generate, 3, warmup=1))
                prefill = statistics.median(timed(lambda: typed(input_ids=prompt), args.runs))
                decode_ms = total - prefill
                results["generate"].append({
                    "model": name, "attention": attention, "dtype": str(dtype).replace("torch.", ""), "totalMs": total,
                    "prefillMs": prefill, "prefillTokensPerSecond": 32 / prefill * 1000,
                    "decodeTokensPerSecond": 128 / decode_ms * 1000,
                })
                progress(f"generate {attention} {dtype}: {128 / decode_ms * 1000:.1f} tok/s")
                save()
                if attention == "sdpa" and args.extra:
                    extra(results, name, typed, vocab, str(dtype).replace("torch.", ""))
                    progress(f"extra {dtype} done")
                    save()
                # Compiling takes a minute per dtype: float16 only, the dtype ptq's decode is compared in.
                if attention == "sdpa" and args.compiled and dtype == torch.float16:
                    compiled(results, name, typed, prompt, prefill, str(dtype).replace("torch.", ""), progress, save)
            del model
            torch.cuda.empty_cache()
    save()
    for row in results["forward"]:
        print(f"pytorch forward {row['model']:>20} fp32 {row['length']:5d} tokens  {row['medianMs']:8.2f} ms  {row['tokensPerSecond']:10.0f} tok/s")
    for row in results["extra"]:
        print(f"pytorch {row['model']:>20} sdpa {row['dtype']:8} prefill 512 {row['prefill512TokensPerSecond']:8.0f} tok/s  batch-32 decode {row['batch32DecodeTokensPerSecond']:8.0f} tok/s")
    for row in results["errors"]:
        print(f"pytorch variant failed: {row['variant']}: {row['error']}")
    for row in results["generate"]:
        print(f"pytorch generate {row['model']:>20} {row['attention']:5} {row['dtype']:8} decode {row['decodeTokensPerSecond']:8.1f} tok/s  prefill {row['prefillTokensPerSecond']:8.0f} tok/s")


def compiled(results, name, model, prompt, prefill_ms, dtype, progress, save):
    """`generate` with a static cache, whose decoding steps transformers compiles itself with
    `torch.compile(mode="reduce-overhead", fullgraph=True)` (CUDA graphs): transformers' own recipe."""
    from transformers import CompileConfig

    started = time.perf_counter()
    try:
        config = CompileConfig(mode="reduce-overhead", fullgraph=True)
        generate = lambda: model.generate(prompt, max_new_tokens=128, min_new_tokens=128, do_sample=False, pad_token_id=0,
                                          cache_implementation="static", compile_config=config)
        for warmup in range(3):
            generate()
            torch.cuda.synchronize()
            progress(f"compiled warm-up {warmup + 1} done")
        total = statistics.median(timed(generate, 3, warmup=0))
        results["generate"].append({
            "model": name, "attention": "sdpa+static+compile", "dtype": dtype, "totalMs": total,
            "prefillMs": prefill_ms, "prefillTokensPerSecond": 32 / prefill_ms * 1000,
            "decodeTokensPerSecond": 128 / (total - prefill_ms) * 1000,
            "compileSeconds": time.perf_counter() - started,
            # Whether generate took the compiled path (transformers keeps the compiled call on the model).
            "compiledCallUsed": getattr(model, "_compiled_call", None) is not None,
        })
        progress(f"compiled: {128 / (total - prefill_ms) * 1000:.1f} tok/s")
    except Exception as error:  # a failed variant is reported, not fatal
        results["errors"].append({"variant": f"sdpa+static+compile {dtype}", "error": repr(error)[:500]})
    finally:
        torch._dynamo.reset()
        save()


def extra(results, name, model, vocab, dtype):
    """A 512-token prefill (one forward) and batch-32 greedy `generate` decode."""
    ids = (torch.arange(512, device="cuda") * 7919 % min(5000, vocab)).unsqueeze(0)
    prefill = statistics.median(timed(lambda: model(input_ids=ids), 5))
    batch = (torch.arange(32 * 32, device="cuda").reshape(32, 32) * 7919 % min(5000, vocab))
    generate = lambda: model.generate(batch, max_new_tokens=128, min_new_tokens=128, do_sample=False, pad_token_id=0)
    total = statistics.median(timed(generate, 3, warmup=1))
    batch_prefill = statistics.median(timed(lambda: model(input_ids=batch), 5))
    results["extra"].append({
        "model": name, "dtype": dtype, "prefill512Ms": prefill, "prefill512TokensPerSecond": 512 / prefill * 1000,
        "batch32DecodeTokensPerSecond": 32 * 128 / (total - batch_prefill) * 1000,
    })


if __name__ == "__main__":
    main()
