import { fileURLToPath } from 'node:url';
import { readmeExampleProblems } from '@ptq/vitest-config/readme-examples';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  // They are type-checked with the package but not run: they download from the Hugging Face hub
  // (548 MB of GPT-2 weights) or print paths of the user's own cache, and tests never use the network.
  it('are, byte for byte, the files of examples/', () => {
    expect(readmeExampleProblems(packageFolder)).toEqual([]);
  });
});
