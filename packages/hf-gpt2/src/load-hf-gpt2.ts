import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { InvalidArgumentError } from '@ptq/errors';
import type { Device } from '@ptq/onnx';
import { readGpt2Config } from './config';
import { checkGenerationConfig } from './generation-config';
import { GPT2LMHeadModel } from './gpt2-lm-head-model';
import { resolveModelFolder } from './resolve-model-folder';
import { loadGpt2Tokenizer } from './tokenizer';
import { type Gpt2Weights, openGpt2Weights } from './weights/load-gpt2-weights';

/**
 * Where the weights live once loaded. `'in-memory'` reads every tensor into memory at load.
 * `'on-demand'` checks every tensor at load (one at a time) and then reads each from the checkpoint
 * when a step uses it (`ReloadableTensor`): steps that work a block at a time (block-by-block
 * calibration, the export, segmented perplexity) release what they used, so the model never holds
 * the whole checkpoint. The checkpoint must stay unchanged while the model is used
 * (`SafetensorsChangedError` otherwise).
 */
export type WeightResidence = 'in-memory' | 'on-demand';

export interface LoadHfGpt2Options {
  /** Where the weights live (default `'in-memory'`). */
  readonly weights?: WeightResidence;
  /** Execution provider for forwards: 'auto' tries cuda → webgpu → cpu (default 'auto'). */
  readonly device?: Device;
  /** Branch, tag or commit of a hub repo (default 'main'). */
  readonly revision?: string;
  /** Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  readonly cacheDir?: string;
  /** Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Never download (default: true when HF_HUB_OFFLINE is set). */
  readonly offline?: boolean;
  /** One line per download, cache fallback or device fallback (default: device notices to console.error). */
  readonly onNotice?: (message: string) => void;
  /** Refuse checkpoint tensors a GPT2LMHeadModel has no place for (default true). */
  readonly strict?: boolean;
  /** onnxruntime sessions kept at once, one per tap set (default 2). */
  readonly maxSessions?: number;
}

/**
 * Loads a Hugging Face GPT-2 (`GPT2LMHeadModel`) from a folder or a hub repo id (`gpt2`,
 * `openai-community/gpt2`): config, tokenizer and float32 weights, as a module tree with a forward.
 * Refused with a typed error naming the file: a config the checkpoint's tensor index disagrees with
 * (names, shapes, dtypes, the tie rule), a tokenizer that does not fit the model (ids past
 * vocab_size, an empty vocabulary, special tokens outside it), special token ids of
 * generation_config.json outside the vocabulary, and any NaN or ±Inf weight.
 */
export async function loadHfGpt2(
  pathOrHubId: string,
  options: LoadHfGpt2Options = {},
): Promise<GPT2LMHeadModel> {
  const residence = options.weights ?? 'in-memory';
  if (residence !== 'in-memory' && residence !== 'on-demand') {
    throw new InvalidArgumentError(
      'weights',
      `must be "in-memory" or "on-demand", got ${JSON.stringify(residence)}`,
    );
  }
  const { folder } = await resolveModelFolder(pathOrHubId, options);
  const config = await readGpt2Config(folder);
  // The checkpoint's index is checked against the config (headers only) before the tokenizer or
  // any weight is loaded, so a config that disagrees with it fails at once, whatever it claims.
  const opened = await openGpt2Weights(folder, config, { strict: options.strict ?? true });
  let weights: Gpt2Weights;
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await loadGpt2Tokenizer(folder, config);
    await checkGenerationConfig(folder, config);
    weights = options.weights === 'on-demand' ? await opened.readOnDemand() : await opened.read();
  } finally {
    await opened.close();
  }
  return new GPT2LMHeadModel({
    config,
    tokenizer,
    transformer: weights.transformer,
    lm_head: weights.lm_head,
    device: options.device,
    onNotice: options.onNotice,
    maxSessions: options.maxSessions,
  });
}
