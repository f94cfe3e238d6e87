import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const packageRoot = new URL('../', import.meta.url);

/** Folder of the embedded default model, in Hugging Face layout (config, fp16 safetensors, tokenizer). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('model/', packageRoot));

/** Folder of the reference numbers computed with PyTorch for this model. */
export const REFERENCE_DIR = fileURLToPath(new URL('reference/', packageRoot));

/** The held-out evaluation files, in the order they are joined. Never trained on. */
export const HELD_OUT_FILES = ['chesterton-thursday.txt', '2006-GWBush.txt'] as const;

/** The held-out evaluation text: both held-out files joined by a blank line. */
export async function readHeldOutText(): Promise<string> {
  const parts = await Promise.all(
    HELD_OUT_FILES.map((name) => readFile(new URL(`data/held-out/${name}`, packageRoot), 'utf8')),
  );
  return parts.join('\n\n');
}

/** Logits and perplexity from Hugging Face transformers (fp32, eager attention, CPU). */
export interface TransformersReference {
  producer: string;
  prompts: string[];
  inputIds: number[][];
  /** safetensors file in REFERENCE_DIR with one float32 `[tokens, vocab]` tensor per prompt. */
  logitsFile: string;
  logitsKeys: string[];
  heldOutPerplexity: {
    files: string[];
    joinedWith: string;
    textTokens: number;
    window: number;
    stride: number;
    tokenCount: number;
    negativeLogLikelihood: number;
    perplexity: number;
  };
}

export type ReferenceMode =
  | 'fp32'
  | 'int8-weight-only'
  | 'float8'
  | 'int4-rtn'
  | 'int4-weight-only'
  | 'int4-reference-example';

/** Expected quantization results from the independent PyTorch implementation of ModelOpt semantics. */
export interface ModelOptReference {
  calibration: { dataset: string; maxSampleLength: number; padding: string };
  logitPrompt: string;
  logitPromptIds: number[];
  heldOut: { files: string[]; joinedWith: string; tokens: number; window: number };
  modes: {
    fp32: { perplexity: number };
    'int4-rtn': { perplexity: number };
    'int4-reference-example': { perplexity: number };
    'int8-weight-only': {
      numSamples: number;
      batchSize: number;
      sampleTokenCounts: number[];
      weightAmax: Record<string, number[]>;
      weightAmaxShape: Record<string, number[]>;
      perplexity: number;
    };
    float8: {
      numSamples: number;
      batchSize: number;
      weightAmax: Record<string, number>;
      inputAmax: Record<string, number>;
      perplexity: number;
    };
    'int4-weight-only': {
      numSamples: number;
      batchSize: number;
      sampleTokenCounts: number[];
      alphas: Record<string, number>;
      losses: Record<string, number[]>;
      actScale: Record<string, number[]>;
      preQuantScale: Record<string, number[]>;
      weightAmax: Record<string, number[]>;
      weightAmaxShape: Record<string, number[]>;
      perplexity: number;
    };
  };
}

async function readJson<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(new URL(`reference/${name}`, packageRoot), 'utf8')) as T;
}

export function readTransformersReference(): Promise<TransformersReference> {
  return readJson('transformers-reference.json');
}

export function readModelOptReference(): Promise<ModelOptReference> {
  return readJson('modelopt-reference.json');
}

/** safetensors file in REFERENCE_DIR: fake-quant logits of `logitPrompt` per mode, float32 `[tokens, vocab]`. */
export const FAKE_QUANT_LOGITS_FILE = 'fake-quant-logits.safetensors';
