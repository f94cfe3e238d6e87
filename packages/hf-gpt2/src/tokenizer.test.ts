import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileTooLargeError, NotARegularFileError, TextEncodingError } from '@ptq/files';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CONFIG } from './__fixtures__/tiny-gpt2';
import { parseGpt2Config } from './config';
import { MissingTokenizerError, TokenizerMismatchError } from './errors';
import { loadGpt2Tokenizer, MAX_TOKENIZER_JSON_BYTES } from './tokenizer';

const TOKENIZER_FOLDER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '__fixtures__/tiny-tokenizer',
);

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number>; merges: unknown[] };
}

let root: string;
let counter = 0;
let tinyTokenizer: TokenizerJson;
let tinyTokenizerConfig: Record<string, unknown>;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-tokenizer-'));
  tinyTokenizer = JSON.parse(await readFile(path.join(TOKENIZER_FOLDER, 'tokenizer.json'), 'utf8'));
  tinyTokenizerConfig = JSON.parse(
    await readFile(path.join(TOKENIZER_FOLDER, 'tokenizer_config.json'), 'utf8'),
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A folder with the tiny tokenizer, changed by `edit`, and its tokenizer_config.json overridden. */
async function tokenizerFolder(
  edit: (tokenizer: TokenizerJson) => void = () => {},
  configOverrides: Record<string, unknown> = {},
): Promise<string> {
  const folder = path.join(root, `tokenizer-${counter++}`);
  await mkdir(folder);
  const tokenizer = structuredClone(tinyTokenizer);
  edit(tokenizer);
  await writeFile(path.join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(
    path.join(folder, 'tokenizer_config.json'),
    JSON.stringify({ ...tinyTokenizerConfig, ...configOverrides }),
  );
  return folder;
}

const config = (overrides: Record<string, unknown> = {}) => parseGpt2Config({ ...TINY_CONFIG, ...overrides });

async function loadError(folder: string, modelConfig = config()): Promise<unknown> {
  return loadGpt2Tokenizer(folder, modelConfig).catch((caught: unknown) => caught);
}

describe('loadGpt2Tokenizer checks the tokenizer against the model', () => {
  it('loads the tiny tokenizer on its model, and on a model with a padded vocabulary', async () => {
    const folder = await tokenizerFolder();
    expect((await loadGpt2Tokenizer(folder, config())).eos_token_id).toBe(49);
    expect((await loadGpt2Tokenizer(folder, config({ vocab_size: 64 }))).encode('the cat')).toEqual([
      19, 30, 40,
    ]);
  });

  it('refuses a 50,257-id tokenizer on an 8,192-token model, naming both files and the numbers', async () => {
    const folder = await tokenizerFolder((tokenizer) => {
      const vocab: Record<string, number> = {};
      for (let id = 0; id < 50_256; id++) vocab[`token${id}`] = id;
      vocab['<|endoftext|>'] = 50_256;
      tokenizer.model.vocab = vocab;
      tokenizer.model.merges = [];
      tokenizer.added_tokens[0]!.id = 50_256;
    });
    const error = await loadError(folder, config({ vocab_size: 8192, eos_token_id: 0, bos_token_id: 0 }));
    expect(error).toBeInstanceOf(TokenizerMismatchError);
    expect((error as Error).message).toBe(
      `${path.join(folder, 'tokenizer.json')}: the tokenizer has 50257 tokens with ids up to 50256, but the model has vocab_size 8192 (${path.join(folder, 'config.json')}: ids 0 to 8191); this tokenizer does not belong to this model`,
    );
  });

  it('counts added tokens: one added token past vocab_size is refused', async () => {
    const folder = await tokenizerFolder((tokenizer) => {
      tokenizer.added_tokens.push({ id: 50, content: '<|pad|>', special: true });
    });
    const error = await loadError(folder);
    expect(error).toMatchObject({ code: 'PTQ_HF_GPT2_TOKENIZER_MISMATCH' });
    expect((error as Error).message).toMatch(
      /has 51 tokens with ids up to 50, but the model has vocab_size 50 /,
    );
  });

  it('refuses an empty vocabulary', async () => {
    const folder = await tokenizerFolder((tokenizer) => {
      tokenizer.model.vocab = {};
      tokenizer.model.merges = [];
      tokenizer.added_tokens = [];
    });
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(TokenizerMismatchError);
    expect((error as Error).message).toBe(
      `${path.join(folder, 'tokenizer.json')}: the vocabulary is empty (no tokens, no added tokens)`,
    );
  });

  it.each(['eos_token', 'bos_token', 'unk_token', 'pad_token'])(
    'refuses a %s of tokenizer_config.json that is not in the vocabulary',
    async (attribute) => {
      const folder = await tokenizerFolder(() => {}, { [attribute]: '<|end|>' });
      const error = await loadError(folder);
      expect(error).toBeInstanceOf(TokenizerMismatchError);
      expect((error as Error).message).toBe(
        `${path.join(folder, 'tokenizer_config.json')}: ${attribute} "<|end|>" is not a token of the vocabulary (50 tokens in ${path.join(folder, 'tokenizer.json')})`,
      );
    },
  );

  it('accepts config.json token ids the tokenizer lacks inside a padded vocab_size (the embedding has the row)', async () => {
    const folder = await tokenizerFolder();
    const tokenizer = await loadGpt2Tokenizer(
      folder,
      config({ vocab_size: 64, eos_token_id: 60, bos_token_id: 63 }),
    );
    // The tokenizer's own EOS still pads.
    expect(tokenizer.pad_token_id).toBe(49);
  });
});

describe('loadGpt2Tokenizer reads its files safely', () => {
  it('refuses a tokenizer.json that is a FIFO without blocking on it', async () => {
    const folder = await tokenizerFolder();
    const file = path.join(folder, 'tokenizer.json');
    await rm(file);
    execFileSync('mkfifo', [file]);
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect((error as Error).message).toBe(`${file}: is a FIFO, not a regular file`);
  });

  it('refuses a tokenizer.json over the size cap before reading it', async () => {
    const folder = await tokenizerFolder();
    const file = path.join(folder, 'tokenizer.json');
    // Sparse: the size is what is checked, nothing is read.
    await truncate(file, MAX_TOKENIZER_JSON_BYTES + 1);
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(FileTooLargeError);
    expect(error).toMatchObject({ size: MAX_TOKENIZER_JSON_BYTES + 1, maxBytes: MAX_TOKENIZER_JSON_BYTES });
  });

  it('refuses a tokenizer_config.json that is not UTF-8, naming the byte offset', async () => {
    const folder = await tokenizerFolder();
    const file = path.join(folder, 'tokenizer_config.json');
    const text = JSON.stringify({ ...tinyTokenizerConfig, comment: 'naïve' });
    await writeFile(file, Buffer.from(text, 'latin1'));
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect(error).toMatchObject({ file, byteOffset: text.indexOf('ï') });
  });

  it('refuses a tokenizer_config.json that is not a JSON object', async () => {
    const folder = await tokenizerFolder();
    await writeFile(path.join(folder, 'tokenizer_config.json'), '[]');
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(MissingTokenizerError);
    expect((error as Error).message).toMatch(/tokenizer_config\.json must hold a JSON object$/);
  });
});
