import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import {
  captureConsoleLog,
  itMatchesReadme,
  temporaryExampleFolder,
} from '@ptq/vitest-config/readme-examples';
import { beforeAll, describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The examples read and write files relative to where they run, as a user's would: they run in a
  // fresh temporary folder holding the `news.txt` their comment describes.
  describe.runIf(FULL_TESTS)('run in a temporary folder', () => {
    const { path: workingFolder } = temporaryExampleFolder('ptq-files-readme-');
    let folder: string;
    beforeAll(() => {
      folder = workingFolder();
      // "Café" in Latin-1: byte 3 (0xe9) is no UTF-8.
      writeFileSync(path.join(folder, 'news.txt'), Buffer.from('Café\n', 'latin1'));
    });

    it('read-text prints the encoding error of its comment', async () => {
      expect(await captureConsoleLog(() => import('../examples/read-text'), { workingFolder: folder })).toBe(
        'news.txt: is not valid utf-8: bad byte sequence at byte offset 3 (pass the file’s encoding, e.g. latin1, to read it)\n',
      );
    });

    it('write-atomically leaves only the whole file', async () => {
      // The example hands SIGINT a handler that exits the process: the test's, here.
      const listeners = process.listeners('SIGINT');
      try {
        await captureConsoleLog(() => import('../examples/write-atomically'), { workingFolder: folder });
      } finally {
        for (const listener of process.listeners('SIGINT')) {
          if (!listeners.includes(listener)) process.off('SIGINT', listener);
        }
      }
      expect(readdirSync(path.join(folder, 'out'))).toEqual(['model.bin']);
      expect([...readFileSync(path.join(folder, 'out', 'model.bin'))]).toEqual([1, 2, 3, 4]);
    });
  });
});
