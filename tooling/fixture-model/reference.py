"""Reference numbers for the embedded default model, computed by Hugging Face transformers (fp32,
eager attention, CPU): logits for three prompts and the held-out perplexity.

    python3 tooling/fixture-model/reference.py --model <model folder> --data <pd-english folder> --out <json>
"""

import argparse
import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, GPT2LMHeadModel

PROMPTS = [
    "It was a bright cold day in April, and",
    "The President said that the people of this nation",
    "Alice was beginning to get very tired of sitting by her sister",
]
HELD_OUT = ("gutenberg/chesterton-thursday.txt", "state_union/2006-GWBush.txt")


def held_out_text(data: Path) -> str:
    # The evaluation text: both held-out files joined by a blank line.
    return "\n\n".join((data / name).read_text(encoding="utf-8") for name in HELD_OUT)


@torch.no_grad()
def perplexity(model, ids: torch.Tensor, window: int, stride: int) -> tuple[float, float, int]:
    """Hugging Face's sliding-window perplexity: each window predicts only its last
    `end - previous_end` tokens; earlier tokens are context. Log-softmax in float64."""
    total = 0.0
    count = 0
    previous_end = 0
    n = ids.numel()
    for begin in range(0, n, stride):
        end = min(begin + window, n)
        targets = end - previous_end
        chunk = ids[begin:end].unsqueeze(0)
        logits = model(input_ids=chunk).logits[0].double()
        log_probs = torch.log_softmax(logits, dim=-1)
        length = end - begin
        first = max(1, length - targets)
        positions = torch.arange(first, length)
        total -= log_probs[positions - 1, chunk[0, positions]].sum().item()
        count += positions.numel()
        previous_end = end
        if end == n:
            break
    return float(torch.exp(torch.tensor(total / count, dtype=torch.float64))), total, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = GPT2LMHeadModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()
    window = model.config.n_positions

    input_ids = []
    logits = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tokenizer(prompt).input_ids
            input_ids.append(ids)
            out = model(input_ids=torch.tensor([ids])).logits[0]
            logits.append(out.float().tolist())

    text = held_out_text(args.data)
    ids = torch.tensor(tokenizer(text).input_ids)
    ppl, nll, count = perplexity(model, ids, window, window)
    reference = {
        "producer": "transformers (fp32, eager attention, CPU)",
        "prompts": PROMPTS,
        "inputIds": input_ids,
        "logits": logits,
        "heldOutPerplexity": {
            "files": list(HELD_OUT),
            "joinedWith": "\n\n",
            "textTokens": ids.numel(),
            "window": window,
            "stride": window,
            "tokenCount": count,
            "negativeLogLikelihood": nll,
            "perplexity": ppl,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reference) + "\n")
    print(f"held-out perplexity {ppl:.4f} over {count} tokens", flush=True)


if __name__ == "__main__":
    main()
