import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type GPT2LMHeadModel, loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize, type QuantMode } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';

/** The bundled model as the Hugging Face module tree, fake-quantized by quant-core when a mode is given. */
export async function hfModel(mode?: QuantMode): Promise<GPT2LMHeadModel> {
  const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
  if (mode !== undefined)
    await modelOptQuantize(hf, mode, { device: 'cpu', log: () => {}, onNotice: () => {} });
  return hf;
}

/** Greedy continuation by full forwards of the HF module tree: no KV cache, no runtime model. */
export async function hfGreedy(hf: GPT2LMHeadModel, prompt: string, count: number): Promise<number[]> {
  const tokens = Array.from(hf.tokenizer!.encode(prompt), Number);
  const vocab = hf.config.vocab_size;
  const generated: number[] = [];
  for (let step = 0; step < count; step++) {
    const ids = BigInt64Array.from([...tokens, ...generated], BigInt);
    const { logits } = await hf.forward(
      createTensor('int64', [1, ids.length], ids),
      createTensor('int64', [1, ids.length], new BigInt64Array(ids.length).fill(1n)),
    );
    const last = logits!.data.subarray((ids.length - 1) * vocab, ids.length * vocab);
    let best = 0;
    for (let index = 1; index < vocab; index++) if (last[index]! > last[best]!) best = index;
    generated.push(best);
  }
  return generated;
}
