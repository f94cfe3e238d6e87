import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeTemporaryOutputs } from '@ptq/files';
import { GraphBuilder } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { toSessionModel } from './session-model';

/** `y = x + w` with a 1,024-float initializer (4 KiB). */
function smallModel() {
  const builder = new GraphBuilder({ name: 'add' });
  const x = builder.input('x', 'float32', [1024]);
  const w = builder.initializer('w', createTensor('float32', [1024], new Float32Array(1024).fill(2)));
  builder.output(builder.node('Add', [x, w]), 'y', 'float32', [1024]);
  return builder.build();
}

const previousTmpdir = process.env.TMPDIR;
afterEach(() => {
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
});

describe('toSessionModel', () => {
  it('keeps a model under externalDataAbove in memory and writes one over it with external data', async () => {
    const small = await toSessionModel(smallModel(), { externalDataAbove: 4096 });
    expect(small.model).toBeInstanceOf(Uint8Array);
    const written = await toSessionModel(smallModel(), { externalDataAbove: 4095 });
    expect(typeof written.model).toBe('string');
    const path = written.model as string;
    expect(existsSync(path)).toBe(true);
    await written.cleanup();
    expect(existsSync(dirname(path))).toBe(false);
  });

  it('falls back to bytes when the optional file cannot be written', async () => {
    // A temporary folder that is a file: nothing can be made inside it.
    const parent = mkdtempSync(join(tmpdir(), 'ptq-session-model-test-'));
    const notAFolder = join(parent, 'file');
    writeFileSync(notAFolder, '');
    process.env.TMPDIR = notAFolder;
    try {
      const model = await toSessionModel(smallModel(), { externalDataAbove: 0 });
      expect(model.model).toBeInstanceOf(Uint8Array);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('registers its folder with the signal-time cleanup of temporary outputs', async () => {
    const written = await toSessionModel(smallModel(), { externalDataAbove: 0 });
    const folder = dirname(written.model as string);
    expect(existsSync(folder)).toBe(true);
    removeTemporaryOutputs();
    expect(existsSync(folder)).toBe(false);
    // Cleaning up after the handler ran is harmless.
    await written.cleanup();
  });
});
