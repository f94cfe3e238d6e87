"""An independent PyTorch implementation of ModelOpt 0.41 post-training quantization semantics for
GPT-2 (modelopt-style max calibration and AWQ-lite), with ptq's documented fixes: attention masks,
position ids from the mask, statistics over real tokens only.

It writes, for a model folder, the expected `_amax`, `_pre_quant_scale`, chosen AWQ alpha per layer,
and fake-quant perplexity on the held-out text for every mode, plus what the reference example's
int4 path (AWQ weight kept, pre_quant_scale dropped, block scales reshaped (-1, in_features), fp16)
gives on the same model. ptq's tests compare against its output.

    python3 tooling/reference/modelopt_reference.py --model <folder> --articles <jsonl> \
        --data <pd-english folder> --out <json> --logits-out <safetensors>
"""

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import AutoTokenizer, GPT2LMHeadModel

torch.set_grad_enabled(False)
SUFFIXES = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
HELD_OUT = ("gutenberg/chesterton-thursday.txt", "state_union/2006-GWBush.txt")
MAX_SAMPLE_LENGTH = 512
BLOCK = 128
TINY = torch.finfo(torch.float32).tiny
LOGIT_PROMPT = "It was a bright cold day in April, and"


def get_module(root, path):
    for part in path.split("."):
        root = root[int(part)] if part.isdigit() else getattr(root, part)
    return root


def set_module(root, path, value):
    parent, _, last = path.rpartition(".")
    holder = get_module(root, parent) if parent else root
    if last.isdigit():
        holder[int(last)] = value
    else:
        setattr(holder, last, value)


def linear_names(model, with_lm_head):
    names = [f"transformer.h.{i}.{s}" for i in range(model.config.n_layer) for s in SUFFIXES]
    return names + (["lm_head"] if with_lm_head else [])


def weight_out_in(module):
    # HF GPT-2 Conv1D stores [in, out]; ModelOpt transposes it to [out, in] like nn.Linear.
    return module.weight.t().contiguous() if type(module).__name__ == "Conv1D" else module.weight.clone()


def batches(tokenizer, articles, num_samples, batch_size, eos):
    ids = [tokenizer(text).input_ids[:MAX_SAMPLE_LENGTH] for text in articles[:num_samples]]
    out = []
    for start in range(0, len(ids), batch_size):
        group = ids[start : start + batch_size]
        length = max(len(x) for x in group)
        input_ids = torch.tensor([[eos] * (length - len(x)) + x for x in group])
        mask = torch.tensor([[0] * (length - len(x)) + [1] * len(x) for x in group])
        out.append((input_ids, mask))
    return out, [len(x) for x in ids]


def run_with_inputs(model, batch, names):
    """One forward with position ids from the mask; returns each linear's input at real tokens."""
    input_ids, mask = batch
    captured = {}
    hooks = [
        get_module(model, name).register_forward_pre_hook(
            lambda module, args, name=name: captured.__setitem__(name, args[0][mask.bool()].float())
        )
        for name in names
    ]
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids)
    for hook in hooks:
        hook.remove()
    return captured


def fake_quant_int(x, amax, maxbound):
    """ModelOpt's integer fake quantization: x * (maxbound/amax), round half to even, clamp, divide back."""
    scale = maxbound / amax
    out = torch.clamp(torch.round(x * scale), -maxbound - 1, maxbound) / scale
    return torch.where(amax > 0, out, torch.zeros_like(out))


def fake_quant_fp8(x, amax):
    """E4M3 fake quantization, round to nearest even and saturating at ±448 (TensorRT/CUDA)."""
    scale = 448.0 / amax
    inv = 1.0 / scale
    q = torch.clamp(x * scale, -448.0, 448.0).to(torch.float8_e4m3fn).float()
    return q * inv


def block_amax(weight):
    out, inp = weight.shape
    return weight.reshape(out, inp // BLOCK, BLOCK).abs().amax(dim=-1, keepdim=True)


def fake_quant_block(weight):
    out, inp = weight.shape
    blocks = weight.reshape(out, inp // BLOCK, BLOCK)
    return fake_quant_int(blocks, block_amax(weight), 7.0).reshape(out, inp)


class FakeQuantLinear(torch.nn.Module):
    def __init__(self, weight, bias, pre_quant_scale=None, input_amax=None):
        super().__init__()
        self.weight = weight
        self.bias = bias
        self.pre_quant_scale = pre_quant_scale
        self.input_amax = input_amax

    def forward(self, x):
        if self.pre_quant_scale is not None:
            x = x * self.pre_quant_scale
        if self.input_amax is not None:
            x = fake_quant_fp8(x, self.input_amax)
        return F.linear(x, self.weight, self.bias)


def with_linears(model_dir, replacements):
    model = GPT2LMHeadModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    for name, make in replacements.items():
        module = get_module(model, name)
        set_module(model, name, make(weight_out_in(module), module.bias))
    return model


def perplexity(model, ids, window):
    total, count, previous_end, n = 0.0, 0, 0, ids.numel()
    for begin in range(0, n, window):
        end = min(begin + window, n)
        targets = end - previous_end
        chunk = ids[begin:end].unsqueeze(0)
        log_probs = torch.log_softmax(model(input_ids=chunk).logits[0].double(), dim=-1)
        length = end - begin
        positions = torch.arange(max(1, length - targets), length)
        total -= log_probs[positions - 1, chunk[0, positions]].sum().item()
        count += positions.numel()
        previous_end = end
        if end == n:
            break
    return math.exp(total / count)


def awq_lite(model, batches_, names):
    """AWQ-lite as ModelOpt 0.41 does it (model_calib.py awq_lite), over real tokens only."""
    act_sum = {name: 0.0 for name in names}
    inputs = {name: [] for name in names}
    for batch in batches_:
        captured = run_with_inputs(model, batch, names)
        for name in names:
            act_sum[name] = act_sum[name] + captured[name].abs().mean(0)
            inputs[name].append(captured[name])
    alphas = torch.arange(0, 1.0 + 0.1, 0.1).tolist()
    result = {}
    for name in names:
        module = get_module(model, name)
        weight = weight_out_in(module)
        bias = module.bias
        act_scale = act_sum[name] / len(batches_)
        out_f, in_f = weight.shape
        normalized = weight.abs().reshape(-1, BLOCK)
        normalized = normalized / (normalized.amax(dim=1, keepdim=True) + TINY)
        weight_scale = normalized.reshape(out_f, in_f).mean(0)
        losses = []
        for alpha in alphas:
            s = (act_scale.pow(alpha) / (weight_scale.pow(1 - alpha) + TINY)).clamp(min=1e-4, max=1e4)
            s = s / (s.max() * s.min()).sqrt()
            quantized = fake_quant_block(weight * s[None, :])
            loss = 0.0
            for x in inputs[name]:
                actual = F.linear(x, weight, bias)
                out = F.linear(x * (1.0 / s), quantized, bias)
                loss += (out - actual).pow(2).mean().item()
            losses.append(loss)
        best = min(range(len(alphas)), key=lambda i: losses[i])
        alpha = alphas[best]
        s = (act_scale.pow(alpha) / (weight_scale.pow(1 - alpha) + TINY)).clamp(min=1e-4, max=1e4)
        s = s / (s.max() * s.min()).sqrt()
        scaled = weight * s[None, :]
        result[name] = {
            "alpha": alpha,
            "losses": losses,
            "actScale": act_scale,
            "preQuantScale": 1.0 / s,
            "weight": scaled,
            "weightAmax": block_amax(scaled).reshape(-1, 1),
        }
    return result


def tolist(tensor):
    return tensor.detach().float().reshape(-1).tolist()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--logits-out", type=Path, required=True)
    args = parser.parse_args()
    started = time.time()

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    eos = tokenizer.eos_token_id
    articles = [json.loads(line)["article"] for line in args.articles.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = GPT2LMHeadModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()
    held_out = "\n\n".join((args.data / name).read_text(encoding="utf-8") for name in HELD_OUT)
    held_ids = torch.tensor(tokenizer(held_out).input_ids)
    window = base.config.n_positions
    prompt_ids = torch.tensor([tokenizer(LOGIT_PROMPT).input_ids])
    report = {"calibration": {"dataset": "cnn_dailymail, bundled test-split sample, field article", "maxSampleLength": MAX_SAMPLE_LENGTH, "padding": "left, EOS, per batch; attention mask; position ids from the mask; statistics over real tokens only"}, "logitPrompt": LOGIT_PROMPT, "logitPromptIds": prompt_ids[0].tolist(), "modes": {}}
    logits = {"fp32": base(input_ids=prompt_ids).logits[0].float().contiguous()}
    report["modes"]["fp32"] = {"perplexity": perplexity(base, held_ids, window)}
    print(f"fp32 ppl {report['modes']['fp32']['perplexity']:.4f} ({time.time() - started:.0f}s)", flush=True)

    # int8 weight-only: INT8_DEFAULT_CFG without input quantizer; per-output-channel max; lm_head excluded.
    names = linear_names(base, with_lm_head=False)
    batches64, lengths64 = batches(tokenizer, articles, 64, 1, eos)
    int8 = {name: weight_out_in(get_module(base, name)).abs().amax(dim=1, keepdim=True) for name in names}
    model = with_linears(args.model, {name: (lambda w, b, name=name: FakeQuantLinear(fake_quant_int(w, int8[name], 127.0), b)) for name in names})
    logits["int8-weight-only"] = model(input_ids=prompt_ids).logits[0].float().contiguous()
    report["modes"]["int8-weight-only"] = {
        "numSamples": 64, "batchSize": 1, "sampleTokenCounts": lengths64,
        "weightAmax": {name: tolist(int8[name]) for name in names},
        "weightAmaxShape": {name: list(int8[name].shape) for name in names},
        "perplexity": perplexity(model, held_ids, window),
    }
    print(f"int8 ppl {report['modes']['int8-weight-only']['perplexity']:.4f} ({time.time() - started:.0f}s)", flush=True)

    # float8: FP8_DEFAULT_CFG with the *lm_head* exclusion removed: per-tensor weights and inputs.
    names_fp8 = linear_names(base, with_lm_head=True)
    input_amax = {name: torch.tensor(0.0) for name in names_fp8}
    for batch in batches64:
        captured = run_with_inputs(base, batch, names_fp8)
        for name in names_fp8:
            input_amax[name] = torch.maximum(input_amax[name], captured[name].abs().max())
    weight_amax = {name: weight_out_in(get_module(base, name)).abs().max() for name in names_fp8}
    model = with_linears(args.model, {name: (lambda w, b, name=name: FakeQuantLinear(fake_quant_fp8(w, weight_amax[name]), b, input_amax=input_amax[name])) for name in names_fp8})
    logits["float8"] = model(input_ids=prompt_ids).logits[0].float().contiguous()
    report["modes"]["float8"] = {
        "numSamples": 64, "batchSize": 1,
        "weightAmax": {name: float(weight_amax[name]) for name in names_fp8},
        "inputAmax": {name: float(input_amax[name]) for name in names_fp8},
        "perplexity": perplexity(model, held_ids, window),
    }
    print(f"fp8 ppl {report['modes']['float8']['perplexity']:.4f} ({time.time() - started:.0f}s)", flush=True)

    # int4 RTN (no AWQ): block-128 max calibration of the weight alone.
    model = with_linears(args.model, {name: (lambda w, b: FakeQuantLinear(fake_quant_block(w), b)) for name in names})
    logits["int4-rtn"] = model(input_ids=prompt_ids).logits[0].float().contiguous()
    report["modes"]["int4-rtn"] = {"perplexity": perplexity(model, held_ids, window)}

    # int4 weight-only: INT4_AWQ_CFG (awq_lite, alpha_step 0.1, block 128 along in), 16 samples in one batch.
    batches16, lengths16 = batches(tokenizer, articles, 16, 16, eos)
    awq = awq_lite(base, batches16, names)
    model = with_linears(args.model, {name: (lambda w, b, name=name: FakeQuantLinear(fake_quant_block(awq[name]["weight"]), b, pre_quant_scale=awq[name]["preQuantScale"])) for name in names})
    logits["int4-weight-only"] = model(input_ids=prompt_ids).logits[0].float().contiguous()
    report["modes"]["int4-weight-only"] = {
        "numSamples": 16, "batchSize": 16, "sampleTokenCounts": lengths16,
        "alphas": {name: awq[name]["alpha"] for name in names},
        "losses": {name: awq[name]["losses"] for name in names},
        "actScale": {name: tolist(awq[name]["actScale"]) for name in names},
        "preQuantScale": {name: tolist(awq[name]["preQuantScale"]) for name in names},
        "weightAmax": {name: tolist(awq[name]["weightAmax"]) for name in names},
        "weightAmaxShape": {name: list(awq[name]["weightAmax"].shape) for name in names},
        "perplexity": perplexity(model, held_ids, window),
    }
    print(f"int4 awq ppl {report['modes']['int4-weight-only']['perplexity']:.4f} ({time.time() - started:.0f}s)", flush=True)

    # The reference example's int4 path: AWQ-scaled weight kept, pre_quant_scale dropped, amax
    # reshaped (-1, in_features) and read as blocks of 128 OUTPUT rows, weights and scales in fp16.
    def tripy_int4(w, b, name):
        scaled = awq[name]["weight"].half().float()
        out_f, in_f = scaled.shape
        scale = (awq[name]["weightAmax"].reshape(-1, in_f) / 7.0).half().float()
        per_element = scale.repeat_interleave(out_f // scale.shape[0], dim=0)
        q = torch.clamp(torch.round(scaled / per_element), -8, 7)
        return FakeQuantLinear(q * per_element, b)

    model = with_linears(args.model, {name: (lambda w, b, name=name: tripy_int4(w, b, name)) for name in names})
    logits["int4-reference-example"] = model(input_ids=prompt_ids).logits[0].float().contiguous()
    report["modes"]["int4-reference-example"] = {"perplexity": perplexity(model, held_ids, window)}
    print(f"reference-example int4 ppl {report['modes']['int4-reference-example']['perplexity']:.4f}", flush=True)

    report["heldOut"] = {"files": list(HELD_OUT), "joinedWith": "\n\n", "tokens": held_ids.numel(), "window": window}
    report["torch"] = torch.__version__
    report["seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report) + "\n")
    save_file(logits, str(args.logits_out), metadata={"prompt": LOGIT_PROMPT})


if __name__ == "__main__":
    main()
