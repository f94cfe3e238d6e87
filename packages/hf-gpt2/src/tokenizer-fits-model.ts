import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { Gpt2Config } from './config';
import { TokenizerMismatchError } from './errors';

export interface TokenizerFiles {
  /** The tokenizer's vocabulary file (`tokenizer.json`). */
  readonly tokenizerFile: string;
  /** Where its special tokens are named (`tokenizer_config.json`). */
  readonly configFile: string;
  /** The model's `config.json` (default: "config.json"). */
  readonly modelConfigFile?: string;
}

// The special tokens a GPT-2 tokenizer config names; each must be a token of the vocabulary.
const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

/**
 * Throws `TokenizerMismatchError` unless the tokenizer fits the model: a non-empty vocabulary
 * (added tokens included) whose every id has an embedding row (`< vocab_size`), and special tokens
 * of tokenizer_config.json that the vocabulary holds. A tokenizer with more ids than the model has
 * rows would feed the model out-of-range ids and generate garbage. config.json's own token ids are
 * held to `vocab_size` by `parseGpt2Config`; they need not be tokens of this tokenizer (a model's
 * vocabulary may be padded past its tokenizer's).
 */
export function checkTokenizerFitsModel(
  tokenizer: PreTrainedTokenizer,
  config: Gpt2Config,
  files: TokenizerFiles,
): void {
  const modelConfigFile = files.modelConfigFile ?? 'config.json';
  let tokenCount = 0;
  let highestId = -1;
  for (const [token, id] of tokenizer.get_vocab()) {
    if (typeof token === 'string') tokenCount++;
    highestId = Math.max(highestId, id);
  }
  for (const id of tokenizer._tokenizer.get_added_tokens_decoder().keys())
    highestId = Math.max(highestId, id);
  if (tokenCount === 0) {
    throw new TokenizerMismatchError(
      files.tokenizerFile,
      'the vocabulary is empty (no tokens, no added tokens)',
    );
  }
  if (highestId >= config.vocab_size) {
    throw new TokenizerMismatchError(
      files.tokenizerFile,
      `the tokenizer has ${tokenCount} tokens with ids up to ${highestId}, but the model has vocab_size ${config.vocab_size} (${modelConfigFile}: ids 0 to ${config.vocab_size - 1}); this tokenizer does not belong to this model`,
    );
  }
  for (const attribute of SPECIAL_TOKENS) {
    const token = tokenizer[attribute];
    if (typeof token !== 'string') continue;
    if (tokenizer._tokenizer.token_to_id(token) === undefined) {
      throw new TokenizerMismatchError(
        files.configFile,
        `${attribute} ${JSON.stringify(token)} is not a token of the vocabulary (${tokenCount} tokens in ${files.tokenizerFile})`,
      );
    }
  }
}
