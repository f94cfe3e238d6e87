import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { captureConsoleLog, itMatchesReadme } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  // The figure is read from a committed file, so every digit.
  it.runIf(FULL_TESTS)('reference-perplexity prints the README figure', async () => {
    expect(await captureConsoleLog(() => import('../examples/reference-perplexity'))).toBe(
      '98.62859719796043\n',
    );
  });
});
