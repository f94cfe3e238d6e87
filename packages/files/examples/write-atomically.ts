import { mkdir } from 'node:fs/promises';
import { removeTemporaryOutputs, writeFileAtomically } from '@ptq/files';

process.once('SIGINT', () => {
  removeTemporaryOutputs(); // removes the temporary files of every write in progress
  process.exit(130);
});

const bytes = new Uint8Array([1, 2, 3, 4]);
await mkdir('out', { recursive: true });
await writeFileAtomically('out/model.bin', async (handle) => {
  await handle.write(bytes);
});
// While it runs, the bytes go to out/.model.bin.tmp-<pid>-<8 hex>; then fsync and rename.
