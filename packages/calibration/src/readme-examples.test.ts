import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme, printedValues, temporaryExampleFolder } from '@ptq/vitest-config/readme-examples';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GPT2_TOKENIZER_FOLDER } from './test-support/gpt2-tokenizer';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The examples read files relative to where they run (`./my-texts.jsonl`, `./gpt2`): they run in a
  // fresh temporary folder holding the files their comments describe. Datasets by name come offline
  // from an empty cache, so the bundled samples the README's figures come from, never the network.
  // What they print is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run in a temporary folder', () => {
    const { path: workingFolder, run } = temporaryExampleFolder('ptq-calibration-readme-');
    beforeAll(() => {
      const folder = workingFolder();
      vi.stubEnv('HF_HUB_OFFLINE', '1');
      vi.stubEnv('HF_HUB_CACHE', path.join(folder, 'empty-cache'));
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const file = (name: string) => path.join(folder, name);
      writeFileSync(
        file('my-texts.jsonl'),
        '{"text":"The first calibration text."}\n{"text":"The second one."}\n',
      );
      execFileSync('mkfifo', [file('pipe.txt')]);
      symlinkSync('/dev/zero', file('zero.txt'));
      writeFileSync(file('news.txt'), Buffer.from('München\n', 'latin1'));
      writeFileSync(file('notes.jsonl'), Buffer.from('{"text":"teas"}\n{"text":"café"}\n', 'latin1'));
      symlinkSync(GPT2_TOKENIZER_FOLDER, file('gpt2'));
    });
    afterAll(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it('texts-by-name', async () => {
      expect(await run(() => import('../examples/texts-by-name'))).toBe(
        printedValues(
          [
            '64',
            'bundled',
            'bundled sample of 250 real test-split articles, field "article"',
            '(CNN)They may not be "Star Trek"-type extraterrestrials, but',
          ].join('\n'),
        ),
      );
    });

    it('wikitext', async () => {
      expect(await run(() => import('../examples/wikitext'))).toBe(
        printedValues('2891\n" = Robert Boulter = \\n"'),
      );
    });

    it('texts-from-a-path', async () => {
      expect(await run(() => import('../examples/texts-from-a-path'))).toBe(
        printedValues(
          `{
  texts: [ 'The first calibration text.', 'The second one.' ],
  source: 'local',
  description: './my-texts.jsonl (field "text")'
}`,
        ),
      );
    });

    it('refused-files', async () => {
      expect(await run(() => import('../examples/refused-files'))).toBe(
        printedValues(
          [
            'NotARegularFileError: ./pipe.txt: is a FIFO, not a regular file',
            'NotARegularFileError: ./zero.txt: is a character device, not a regular file',
            'TextEncodingError: ./news.txt: is not valid utf-8: bad byte sequence at byte offset 1 (pass the file’s encoding, e.g. latin1, to read it)',
            "[ 'München\\n' ]",
            'TextEncodingError: ./notes.jsonl:2: is not valid utf-8: bad byte sequence at byte offset 28 (pass the file’s encoding, e.g. latin1, to read it)',
          ].join('\n'),
        ),
      );
    });

    it('create-forward-loop', async () => {
      expect(await run(() => import('../examples/create-forward-loop'))).toBe(
        printedValues(
          [
            '[ [ 16, 512 ], [ 16, 512 ], [ 16, 512 ], [ 16, 512 ] ]',
            '64',
            '30527',
            'cpu',
            'forward [ 16, 512 ] 7556n',
            '{ batch: 1, batches: 4, samples: 16, totalSamples: 64, tokens: 7556 }',
            'forward [ 16, 512 ] 7467n',
            '{ batch: 2, batches: 4, samples: 32, totalSamples: 64, tokens: 15023 }',
            'forward [ 16, 512 ] 7965n',
            '{ batch: 3, batches: 4, samples: 48, totalSamples: 64, tokens: 22988 }',
            'forward [ 16, 512 ] 7539n',
            '{ batch: 4, batches: 4, samples: 64, totalSamples: 64, tokens: 30527 }',
          ].join('\n'),
        ),
      );
    });

    it('texts-as-dataset', async () => {
      expect(await run(() => import('../examples/texts-as-dataset'))).toBe(
        printedValues(
          [
            "{ dtype: 'int64', shape: [ 2, 2 ], data: BigInt64Array(4) [ 15496n, 995n, 50256n, 262n ] }",
            "{ dtype: 'int64', shape: [ 2, 2 ], data: BigInt64Array(4) [ 1n, 1n, 0n, 1n ] }",
          ].join('\n'),
        ),
      );
    });
  });
});
