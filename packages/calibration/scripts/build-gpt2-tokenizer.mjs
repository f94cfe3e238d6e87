// Builds the transformers.js tokenizer files of GPT-2 (tokenizer.json, tokenizer_config.json) from the
// original OpenAI files encoder.json (token → id) and vocab.bpe (BPE merges), in the folder given
// as the first argument. Byte-level BPE without a prefix space, <|endoftext|> (50256) as BOS, EOS and UNK,
// the same content as openai-community/gpt2's tokenizer.json.
//
//   node scripts/build-gpt2-tokenizer.mjs src/__fixtures__/gpt2-tokenizer
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = process.argv[2];
if (folder === undefined) {
  console.error('usage: node scripts/build-gpt2-tokenizer.mjs <folder with encoder.json and vocab.bpe>');
  process.exit(1);
}

const vocab = JSON.parse(readFileSync(join(folder, 'encoder.json'), 'utf8'));
const lines = readFileSync(join(folder, 'vocab.bpe'), 'utf8').split('\n');
if (!lines[0]?.startsWith('#version')) throw new Error('vocab.bpe: the first line should be "#version: 0.2"');
// Skip the version line and the empty string after the final newline.
const merges = lines.slice(1).filter((line) => line !== '');

const END_OF_TEXT = '<|endoftext|>';
const endOfTextId = vocab[END_OF_TEXT];
if (endOfTextId !== 50256)
  throw new Error(`encoder.json: ${END_OF_TEXT} should be 50256, got ${endOfTextId}`);

const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [
    {
      id: endOfTextId,
      content: END_OF_TEXT,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: byteLevel,
  post_processor: { ...byteLevel, trim_offsets: false },
  decoder: byteLevel,
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    vocab,
    merges,
  },
};

const config = {
  add_bos_token: false,
  add_prefix_space: false,
  bos_token: END_OF_TEXT,
  clean_up_tokenization_spaces: false,
  eos_token: END_OF_TEXT,
  model_max_length: 1024,
  tokenizer_class: 'GPT2Tokenizer',
  unk_token: END_OF_TEXT,
};

// Atomic writes: a temporary name beside the target, then rename.
function writeJson(name, value) {
  const target = join(folder, name);
  writeFileSync(`${target}.tmp`, `${JSON.stringify(value)}\n`);
  renameSync(`${target}.tmp`, target);
}
writeJson('tokenizer.json', tokenizer);
writeJson('tokenizer_config.json', config);
console.log(
  `wrote tokenizer.json (${Object.keys(vocab).length} tokens, ${merges.length} merges) and tokenizer_config.json`,
);
