import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedValues, temporaryExampleFolder } from '@ptq/vitest-config/readme-examples';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The examples write folders relative to where they run, as a user's would, and each reads what
  // the ones before wrote: they all run, in order, in one fresh temporary folder. They calibrate on
  // cnn_dailymail by name: offline and with an empty cache they take the bundled sample, never the
  // network. What they print is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run in a temporary folder', () => {
    const { path: workingFolder, run } = temporaryExampleFolder('ptq-export-readme-');
    beforeAll(() => {
      const folder = workingFolder();
      vi.stubEnv('HF_HUB_OFFLINE', '1');
      vi.stubEnv('HF_HUB_CACHE', path.join(folder, 'empty-cache'));
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    });
    afterAll(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    // Quantizes the bundled model (int4 AWQ-lite) on the CPU.
    it('modelopt-checkpoint', async () => {
      expect(await run(() => import('../examples/modelopt-checkpoint'))).toBe(
        printedValues(`[ 'config.json', 'generation_config.json', 'hf_quant_config.json',
  'model.safetensors', 'ptq-manifest.json', 'tokenizer.json', 'tokenizer_config.json' ]`),
      );
    }, 300_000);

    it('load-it-back', async () => {
      expect(await run(() => import('../examples/load-it-back'))).toBe(
        printedValues(`W4A16_AWQ int4-weight-only
[ 'lm_head' ]
ptq
"The old man said,\\nAnd he was a man, and he was a man,\\nAnd"`),
      );
    }, 120_000);

    it('onnx-for-transformers-js', async () => {
      expect(await run(() => import('../examples/onnx-for-transformers-js'))).toBe(
        printedValues(`[ 'config.json', 'generation_config.json', 'onnx/model_q4.onnx',
  'ptq-manifest.json', 'tokenizer.json', 'tokenizer_config.json' ]
onnx/model_q4.onnx q4 false`),
      );
    }, 120_000);

    it('transformers-js-pipeline', async () => {
      expect(await run(() => import('../examples/transformers-js-pipeline'))).toBe(
        printedValues(
          `[ { generated_text: 'The old man said,\\nAnd he was a man, and he was a man,\\nAnd' } ]`,
        ),
      );
    }, 120_000);

    it('open-onnx-export', async () => {
      expect(await run(() => import('../examples/open-onnx-export'))).toBe(
        printedValues(`int4-weight-only
"The old man said,\\nAnd he was a man, and he was a man,\\nAnd"`),
      );
    }, 120_000);

    // Quantizes the bundled model (float8) on the CPU.
    it('qdq-onnx', async () => {
      expect(await run(() => import('../examples/qdq-onnx'))).toBe(printedValues(`onnx/model_qdq.onnx`));
    }, 300_000);

    it('inspect', async () => {
      expect(await run(() => import('../examples/inspect'))).toBe(
        printedValues(`onnx
modelopt-hf int4-weight-only W4A16_AWQ model.safetensors
16 transformer.h.0.attn.c_attn
{
  weight_scale: { count: 24576, min: 0.0027161631733179092, max: 0.026244791224598885, mean: 0.010129414627139491 },
  pre_quant_scale: { count: 5120, min: 0.45926451683044434, max: 2.177394390106201, mean: 1.0328680655453355 }
}
22075392 11741357
onnx float8 onnx/model_qdq.onnx 17
{
  weight_scale: { count: 17, min: 0.00012104852066840976, max: 0.0006664820830337703, mean: 0.00030040340018732585 },
  input_scale: { count: 17, min: 0.0021743127144873142, max: 0.01762394793331623, mean: 0.008802869535215637 }
}
30464076 15311527`),
      );
    }, 120_000);

    // The README lists the folders the examples wrote, with each file's size in bytes.
    it('wrote the files the README lists', () => {
      const folder = workingFolder();
      const listing = ['gpt2-int4-awq', 'gpt2-q4-onnx', 'gpt2-fp8-qdq']
        .flatMap((exported) =>
          filesUnder(path.join(folder, exported)).map((file) => path.join(exported, file)),
        )
        .map((file) => `${file} ${statSync(path.join(folder, file)).size}`);
      expect(listing).toEqual([
        'gpt2-int4-awq/config.json 1050',
        'gpt2-int4-awq/generation_config.json 102',
        'gpt2-int4-awq/hf_quant_config.json 283',
        'gpt2-int4-awq/model.safetensors 11191616',
        'gpt2-int4-awq/ptq-manifest.json 497',
        'gpt2-int4-awq/tokenizer.json 547544',
        'gpt2-int4-awq/tokenizer_config.json 265',
        'gpt2-q4-onnx/config.json 876',
        'gpt2-q4-onnx/generation_config.json 102',
        'gpt2-q4-onnx/onnx/model_q4.onnx 11207252',
        'gpt2-q4-onnx/ptq-manifest.json 427',
        'gpt2-q4-onnx/tokenizer.json 547544',
        'gpt2-q4-onnx/tokenizer_config.json 265',
        'gpt2-fp8-qdq/config.json 823',
        'gpt2-fp8-qdq/generation_config.json 102',
        'gpt2-fp8-qdq/onnx/model_qdq.onnx 14762365',
        'gpt2-fp8-qdq/ptq-manifest.json 428',
        'gpt2-fp8-qdq/tokenizer.json 547544',
        'gpt2-fp8-qdq/tokenizer_config.json 265',
      ]);
    });
  });
});

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}
