import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';

/** The GPT-2 tokenizer folder built by scripts/build-gpt2-tokenizer.mjs from the original OpenAI files. */
export const GPT2_TOKENIZER_FOLDER = fileURLToPath(
  new URL('../__fixtures__/gpt2-tokenizer/', import.meta.url),
);

let loading: Promise<PreTrainedTokenizer> | undefined;

/** The fixture tokenizer through transformers.js, loaded once per test file, never from the network. */
export function loadGpt2Tokenizer(): Promise<PreTrainedTokenizer> {
  env.allowRemoteModels = false;
  loading ??= AutoTokenizer.from_pretrained(GPT2_TOKENIZER_FOLDER);
  return loading;
}

/**
 * An independent GPT-2 encoder, a direct port of OpenAI's `encoder.py` (bytes_to_unicode, the
 * pre-tokenization regex, rank-ordered BPE merges), to check transformers.js against.
 */
export class ReferenceGpt2Encoder {
  private readonly encoder: Record<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly byteToUnicode = new Map<number, string>();
  private static readonly PATTERN =
    /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

  constructor(folder: string = GPT2_TOKENIZER_FOLDER) {
    this.encoder = JSON.parse(readFileSync(`${folder}/encoder.json`, 'utf8'));
    const merges = readFileSync(`${folder}/vocab.bpe`, 'utf8').split('\n').slice(1).filter(Boolean);
    merges.forEach((merge, rank) => {
      this.ranks.set(merge, rank);
    });
    // bytes_to_unicode: printable bytes map to themselves, the others to 256 + n in order.
    const printable: number[] = [];
    for (let byte = 33; byte <= 126; byte++) printable.push(byte);
    for (let byte = 161; byte <= 172; byte++) printable.push(byte);
    for (let byte = 174; byte <= 255; byte++) printable.push(byte);
    let extra = 0;
    for (let byte = 0; byte < 256; byte++) {
      this.byteToUnicode.set(byte, String.fromCodePoint(printable.includes(byte) ? byte : 256 + extra++));
    }
  }

  tokenId(token: string): number {
    const id = this.encoder[token];
    if (id === undefined) throw new Error(`no token ${JSON.stringify(token)} in encoder.json`);
    return id;
  }

  private bpe(word: string[]): string[] {
    let parts = word;
    while (parts.length > 1) {
      let best: number | undefined;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let index = 0; index < parts.length - 1; index++) {
        const rank = this.ranks.get(`${parts[index]} ${parts[index + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = index;
        }
      }
      if (best === undefined) break;
      const first = parts[best];
      const second = parts[best + 1];
      // Merge every occurrence of the best pair, left to right, as encoder.py does.
      const merged: string[] = [];
      for (let index = 0; index < parts.length; index++) {
        if (index < parts.length - 1 && parts[index] === first && parts[index + 1] === second) {
          merged.push(`${first}${second}`);
          index++;
        } else {
          merged.push(parts[index] as string);
        }
      }
      parts = merged;
    }
    return parts;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of text.matchAll(ReferenceGpt2Encoder.PATTERN)) {
      const bytes = new TextEncoder().encode(match[0]);
      const symbols = [...bytes].map((byte) => this.byteToUnicode.get(byte) as string);
      for (const token of this.bpe(symbols)) ids.push(this.tokenId(token));
    }
    return ids;
  }
}
