import { fileURLToPath } from 'node:url';
import { itMatchesReadme } from '@ptq/vitest-config/readme-examples';
import { describe } from 'vitest';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

describe('README Usage examples', () => {
  // They are type-checked with the package but not run: they download from the Hugging Face hub
  // (548 MB of GPT-2 weights) or print paths of the user's own cache, and tests never use the network.
  itMatchesReadme(packageFolder);
});
