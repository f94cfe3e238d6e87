import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { captureConsoleLog, itMatchesReadme, printedValues } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // What they print is the README's result comments (see printedValues).
  describe.runIf(FULL_TESTS)('run', () => {
    it('lists-and-types', async () => {
      expect(printedValues(await captureConsoleLog(() => import('../examples/lists-and-types')))).toBe(
        printedValues(
          [
            "[ 'int8-weight-only', 'int4-weight-only', 'float8' ]",
            "[ 'auto', 'cpu', 'webgpu', 'cuda' ]",
            "[ 'float32', 'float16' ]",
            'true false auto',
          ].join('\n'),
        ),
      );
    });

    it('forward-loop', async () => {
      expect(await captureConsoleLog(() => import('../examples/forward-loop'))).toBe('[ 1, 3 ]\n');
    });
  });
});
