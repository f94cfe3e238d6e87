import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { SAFETENSORS_INDEX_FILE, shardFileName } from './checkpoint-file-names';
import { writeFully } from './file-handle-io';
import { type PreparedTensor, prepareTensors, type TensorEntries } from './prepare-tensors';
import { wrapIoError } from './safetensors-errors';
import { writeFileAtomically } from './write-file-atomically';
import { checkMetadata, writePreparedSafetensors } from './write-safetensors';

/** Default shard size, the `max_shard_size="5GB"` of `transformers`' `save_pretrained`. */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

export interface WriteShardedSafetensorsOptions {
  /** Tensor bytes per shard; a single larger tensor gets a shard of its own. */
  maxShardBytes?: number;
  /** Written as `__metadata__` of every shard. */
  metadata?: Readonly<Record<string, string>>;
}

export interface ShardedSafetensorsResult {
  /** Path of `model.safetensors.index.json`. */
  readonly indexPath: string;
  /** Paths of the shards, in order. */
  readonly shardPaths: readonly string[];
  /** Sum of all tensor bytes, as written to the index's `metadata.total_size`. */
  readonly totalSize: number;
}

/**
 * Writes tensors as `model-00001-of-0000N.safetensors` shards plus `model.safetensors.index.json`,
 * creating `folder` if needed. Tensors fill shards in name order. Each file appears atomically, and
 * the index last, so a reader that goes through the index never sees a half-written checkpoint.
 */
export async function writeShardedSafetensors(
  folder: string,
  tensors: TensorEntries,
  options: WriteShardedSafetensorsOptions = {},
): Promise<ShardedSafetensorsResult> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new InvalidArgumentError('maxShardBytes', `must be a positive integer, got ${maxShardBytes}`);
  }
  const metadata = checkMetadata(options.metadata);
  const prepared = await prepareTensors(tensors);
  const shards = groupIntoShards(prepared, maxShardBytes);

  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    throw wrapIoError(folder, 'cannot create the folder', error);
  }
  const weightMap: Record<string, string> = {};
  const shardPaths: string[] = [];
  let totalSize = 0;
  for (const [index, shard] of shards.entries()) {
    const fileName = shardFileName(index + 1, shards.length);
    const shardPath = join(folder, fileName);
    await writePreparedSafetensors(shardPath, shard, metadata);
    shardPaths.push(shardPath);
    for (const tensor of shard) {
      weightMap[tensor.name] = fileName;
      totalSize += tensor.bytes.byteLength;
    }
  }
  const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
  const index = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`;
  await writeFileAtomically(indexPath, (handle) => writeFully(handle, new TextEncoder().encode(index)));
  return { indexPath, shardPaths, totalSize };
}

/** Greedy, in order: a shard closes when the next tensor would push it past `maxShardBytes`. */
function groupIntoShards(tensors: readonly PreparedTensor[], maxShardBytes: number): PreparedTensor[][] {
  const shards: PreparedTensor[][] = [];
  let current: PreparedTensor[] = [];
  let currentBytes = 0;
  for (const tensor of tensors) {
    const size = tensor.bytes.byteLength;
    if (current.length > 0 && currentBytes + size > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += size;
  }
  // No tensors still gives one (empty) shard, so the index always points somewhere real.
  shards.push(current);
  return shards;
}
