import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openSafetensorsCheckpoint, writeSafetensors } from '@ptq/safetensors';
import type { Tensor } from '@ptq/tensor';

/** Copies an exported folder to `target`, letting `edit` change its tensors, to make broken checkpoints. */
export async function rewriteCheckpoint(
  source: string,
  target: string,
  edit: (tensors: Map<string, Tensor>) => void,
): Promise<void> {
  await cp(source, target, { recursive: true });
  const checkpoint = await openSafetensorsCheckpoint(source);
  const tensors = new Map<string, Tensor>();
  try {
    for (const name of checkpoint.tensors.keys()) tensors.set(name, await checkpoint.readTensor(name));
  } finally {
    await checkpoint.close();
  }
  edit(tensors);
  await rm(join(target, 'model.safetensors'));
  await writeSafetensors(join(target, 'model.safetensors'), tensors);
}
