import { access } from 'node:fs/promises';
import path from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { Gpt2Config } from './config';
import { MissingTokenizerError } from './errors';

/** The files `@huggingface/transformers` needs to build a tokenizer from a folder. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * Loads the folder's tokenizer with transformers.js, from local files only, set up as calibration
 * and batching expect: left padding, pad token = EOS, `model_max_length` = `n_positions`.
 */
export async function loadGpt2Tokenizer(folder: string, config: Gpt2Config): Promise<PreTrainedTokenizer> {
  const absolute = path.resolve(folder);
  const absent: string[] = [];
  for (const file of TOKENIZER_FILES) {
    try {
      await access(path.join(absolute, file));
    } catch {
      absent.push(file);
    }
  }
  if (absent.length > 0) {
    throw new MissingTokenizerError(absolute, TOKENIZER_FILES, `${absent.join(' and ')} not found`);
  }
  let tokenizer: PreTrainedTokenizer;
  try {
    // An absolute path is never taken for a hub id, and local_files_only keeps it off the network.
    tokenizer = await AutoTokenizer.from_pretrained(absolute, { local_files_only: true });
  } catch (error) {
    throw new MissingTokenizerError(
      absolute,
      TOKENIZER_FILES,
      `transformers.js could not load it (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  tokenizer.padding_side = 'left';
  const eosToken = tokenizer.eos_token ?? tokenIdToString(tokenizer, config.eos_token_id);
  if (eosToken !== undefined) {
    tokenizer.pad_token = eosToken;
    tokenizer.pad_token_id = tokenizer.convert_tokens_to_ids(eosToken);
  }
  // `model_max_length` is a getter over the tokenizer config; give this tokenizer its own copy of the
  // config (transformers.js may share the parsed JSON between loads) with n_positions there.
  const tokenizerConfig = { ...tokenizer._tokenizerConfig, model_max_length: config.n_positions };
  tokenizer._tokenizerConfig = tokenizerConfig;
  tokenizer.config = tokenizerConfig;
  return tokenizer;
}

function tokenIdToString(tokenizer: PreTrainedTokenizer, id: number | undefined): string | undefined {
  if (id === undefined) return undefined;
  return tokenizer.decode([id], { skip_special_tokens: false }) || undefined;
}
