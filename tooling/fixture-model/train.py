"""Train ptq's embedded default model: a small GPT-2-architecture model with its own byte-level BPE
tokenizer, on the public-domain English corpus, saved in Hugging Face layout.

Held out for evaluation and never trained on: gutenberg/chesterton-thursday.txt and
state_union/2006-GWBush.txt. Run on a CUDA machine with PyTorch, transformers and tokenizers:

    python3 tooling/fixture-model/train.py --data <pd-english folder> --out <model folder>

Deterministic for a given seed, PyTorch build and GPU.
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast, GenerationConfig

HELD_OUT = ("gutenberg/chesterton-thursday.txt", "state_union/2006-GWBush.txt")
EOS = "<|endoftext|>"


def training_files(data: Path) -> list[Path]:
    files = sorted(p for p in data.rglob("*.txt") if p.relative_to(data).as_posix() not in HELD_OUT)
    held = [data / h for h in HELD_OUT]
    assert all(h.exists() for h in held), "held-out files missing"
    assert not any(f in held for f in files)
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    started = time.time()

    files = training_files(args.data)
    texts = [f.read_text(encoding="utf-8", errors="strict") for f in files]
    print(f"training on {len(files)} files, {sum(len(t) for t in texts):,} characters", flush=True)

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(texts, vocab_size=8192, min_frequency=2, special_tokens=[EOS], show_progress=False)
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS)
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    print(f"tokenizer: vocab {len(tokenizer)}, eos id {eos_id} ({time.time() - started:.1f}s)", flush=True)

    ids: list[int] = []
    for encoding in bpe.encode_batch(texts):
        ids.extend(encoding.ids)
        ids.append(eos_id)
    stream = torch.tensor(ids, dtype=torch.long)
    print(f"{stream.numel():,} training tokens", flush=True)

    config = GPT2Config(
        vocab_size=8192,
        n_positions=1024,
        n_embd=256,
        n_layer=4,
        n_head=4,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        tie_word_embeddings=True,
    )
    device = "cuda"
    model = GPT2LMHeadModel(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    block = config.n_positions
    generator = torch.Generator().manual_seed(args.seed)
    warmup = 100
    model.train()
    for step in range(args.steps):
        lr = 1e-3 * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in optimizer.param_groups:
            group["lr"] = max(lr, 3e-5)
        starts = torch.randint(0, stream.numel() - block - 1, (args.batch,), generator=generator)
        batch = torch.stack([stream[s : s + block] for s in starts]).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 200 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  ({time.time() - started:.0f}s)", flush=True)

    model.eval()
    model = model.to("cpu").to(torch.float16)
    model.generation_config = GenerationConfig(bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.model_max_length = config.n_positions
    tokenizer.save_pretrained(args.out)
    # Only the files the project needs: the tokenizer is fully described by tokenizer.json.
    for extra in ("vocab.json", "merges.txt", "special_tokens_map.json", "chat_template.jinja"):
        (args.out / extra).unlink(missing_ok=True)
    info = {
        "trainingFiles": [f.relative_to(args.data).as_posix() for f in files],
        "heldOut": list(HELD_OUT),
        "trainingTokens": stream.numel(),
        "steps": args.steps,
        "batch": args.batch,
        "sequence": block,
        "seed": args.seed,
        "finalTrainingLoss": round(loss.item(), 4),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "seconds": round(time.time() - started, 1),
    }
    (args.out.parent / "training-run.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
