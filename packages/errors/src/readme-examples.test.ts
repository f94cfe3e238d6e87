import { fileURLToPath } from 'node:url';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { itMatchesReadme } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it, vi } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  itMatchesReadme(packageFolder);

  it.runIf(FULL_TESTS)('handle-errors prints the message of its comment and sets the exit code', async () => {
    const printed: unknown[][] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...values) => {
      printed.push(values);
    });
    const exitCode = process.exitCode;
    try {
      await import('../examples/handle-errors');
      expect(printed).toEqual([
        ['Invalid argument "mode": expected int8-weight-only, int4-weight-only or float8, got int2'],
      ]);
      expect(process.exitCode).toBe(1);
    } finally {
      // The example sets the exit code of the process it runs in: here, the test's.
      process.exitCode = exitCode;
      error.mockRestore();
    }
  });
});
