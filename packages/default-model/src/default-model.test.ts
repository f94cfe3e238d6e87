import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL_DIR,
  REFERENCE_DIR,
  readHeldOutText,
  readModelOptReference,
  readTransformersReference,
} from './index';

describe('default model', () => {
  it('ships a GPT-2 checkpoint in Hugging Face layout under 15 MB', async () => {
    const files = [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
    ];
    let total = 0;
    for (const file of files) {
      total += (await stat(join(DEFAULT_MODEL_DIR, file))).size;
    }
    expect(total).toBeLessThan(15 * 1024 * 1024);
    const config = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_layer: 4,
      n_embd: 256,
      n_head: 4,
      vocab_size: 8192,
    });
    expect(config.n_positions).toBe(1024);
  });

  it('reads the held-out text the references were computed on', async () => {
    const text = await readHeldOutText();
    expect(text.startsWith('[The Man Who Was Thursday by G. K. Chesterton 1908]')).toBe(true);
    expect(text).toContain('\n\nPRESIDENT GEORGE W. BUSH');
    const reference = await readTransformersReference();
    expect(reference.heldOutPerplexity.files.map((file) => file.split('/').pop())).toEqual([
      'chesterton-thursday.txt',
      '2006-GWBush.txt',
    ]);
    await stat(join(REFERENCE_DIR, reference.logitsFile));
  });

  it('has reference quantization results for every mode', async () => {
    const reference = await readModelOptReference();
    expect(Object.keys(reference.modes).sort()).toEqual(
      ['float8', 'fp32', 'int4-reference-example', 'int4-rtn', 'int4-weight-only', 'int8-weight-only'].sort(),
    );
    expect(Object.keys(reference.modes['int4-weight-only'].alphas)).toHaveLength(16);
  });
});
