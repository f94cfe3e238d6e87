import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedValues, temporaryExampleFolder } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The examples write and read files relative to where they run, as a user's would, each reading
  // what the ones before wrote: they all run, in order, in one fresh temporary folder. What they print
  // is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run in a temporary folder', () => {
    const { run } = temporaryExampleFolder('ptq-safetensors-readme-');

    it('write-a-file', async () => {
      expect(await run(() => import('../examples/write-a-file'))).toBe(printedValues(''));
    });

    it('write-as-made', async () => {
      expect(await run(() => import('../examples/write-as-made'))).toBe(
        printedValues(
          [
            "{ dtype: 'I8', shape: [ 2, 2 ], byteOffset: 184, byteLength: 4 }",
            "{ dtype: 'float32', shape: [ 2 ], data: Float32Array(2) [ 0.5, 0.25 ] }",
          ].join('\n'),
        ),
      );
    });

    it('read-a-file', async () => {
      expect(await run(() => import('../examples/read-a-file'))).toBe(
        printedValues(
          [
            "{ format: 'pt' }",
            "{ dtype: 'F32', shape: [ 2, 3 ], byteOffset: 280, byteLength: 24 }",
            "{ dtype: 'float32', shape: [ 2, 3 ], data: Float32Array(6) [ 1, 2, 3, 4, 5, 6 ] }",
            "{ dtype: 'float16', shape: [ 3 ], data: Uint16Array(3) [ 15360, 16384, 16896 ] }",
            'Uint8Array(1) [ 56 ]',
          ].join('\n'),
        ),
      );
    });

    it('await-using', async () => {
      expect(await run(() => import('../examples/await-using'))).toBe(
        printedValues("[ 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_attn.weight_scale' ]"),
      );
    });

    it('sharded-checkpoints', async () => {
      expect(await run(() => import('../examples/sharded-checkpoints'))).toBe(
        printedValues(
          [
            "{ indexPath: 'sharded/model.safetensors.index.json',",
            "  shardPaths: [ 'sharded/model-00001-of-00002.safetensors', 'sharded/model-00002-of-00002.safetensors' ],",
            '  totalSize: 56 }',
            '{ total_size: 56 }',
            "{ dtype: 'F32', shape: [ 4, 2 ], byteOffset: 80, byteLength: 32, file: 'sharded/model-00002-of-00002.safetensors' }",
            "{ dtype: 'float32', shape: [ 2 ], data: Float32Array(2) [ 1, 1 ] }",
          ].join('\n'),
        ),
      );
    });

    it('checked-reads', async () => {
      expect(await run(() => import('../examples/checked-reads'))).toBe(
        printedValues(
          [
            'Float32Array(2) [ 0.5, 0.25 ]',
            'SafetensorsFormatError: planned.safetensors: tensor "h.0.weight" is int8 [2, 2]; expected int8 [4, 2]',
            "[ 'h.0.weight' ]",
          ].join('\n'),
        ),
      );
    });

    it('errors', async () => {
      expect(await run(() => import('../examples/errors'))).toBe(
        printedValues(
          [
            'PTQ_SAFETENSORS_MISSING_TENSOR model.safetensors: no tensor named "transformer.h.0.attn.c_attn.wieght"; close names: "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias"',
            'PTQ_SAFETENSORS_FORMAT broken.safetensors: header length 4294967295 exceeds the limit of 100000000 bytes (MAX_HEADER_LENGTH)',
          ].join('\n'),
        ),
      );
    });
  });
});
