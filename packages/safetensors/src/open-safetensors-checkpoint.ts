import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, win32 } from 'node:path';
import { closestNames, PtqError, summarizeNames } from '@ptq/errors';
import { decodeText, FileTooLargeError, readRegularFile } from '@ptq/files';
import type { Tensor } from '@ptq/tensor';
import { SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from './checkpoint-file-names';

import { findDuplicateJsonKey } from './find-duplicate-json-key';
import { isPlainObject } from './is-plain-object';
import { openSafetensors, type SafetensorsFile } from './open-safetensors';
import type { TensorInfo } from './parse-safetensors-header';
import { quoteName } from './quote-name';
import {
  MissingTensorError,
  SafetensorsFormatError,
  SafetensorsIoError,
  wrapIoError,
} from './safetensors-errors';

/** Largest index JSON accepted; real indexes are well under 1 MB. */
export const MAX_INDEX_LENGTH = 100_000_000;

/** A tensor of a checkpoint: where it lives, including which file. */
export interface CheckpointTensorInfo extends TensorInfo {
  /** Path of the file that holds the tensor. */
  readonly file: string;
}

/** A single-file or sharded checkpoint, seen as one set of tensors. */
export interface SafetensorsCheckpoint extends AsyncDisposable {
  /** The safetensors file or index JSON that was opened. */
  readonly path: string;
  /** The open file of each shard (one for a single-file checkpoint). */
  readonly files: readonly SafetensorsFile[];
  /**
   * A single file's `__metadata__` (string values), or a sharded checkpoint's index `metadata`
   * (JSON values, e.g. `{ total_size: 497759232 }`). Each shard's own `__metadata__` is on `files`.
   */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Every tensor of every shard. */
  readonly tensors: ReadonlyMap<string, CheckpointTensorInfo>;
  readTensor(name: string): Promise<Tensor>;
  /** As `SafetensorsFile.readTensorBytes`, from the shard that holds the tensor. */
  readTensorBytes(name: string, target?: Uint8Array): Promise<Uint8Array>;
  /** Closes every shard. */
  close(): Promise<void>;
}

/**
 * Opens a checkpoint from a folder (its `model.safetensors`, else its `model.safetensors.index.json`),
 * a safetensors file, or an index JSON. A sharded checkpoint is validated whole: every shard the index
 * names exists inside the folder and holds the tensors mapped to it, no tensor is in two shards, and
 * every tensor a shard holds is in the index. Only regular files are read.
 */
export async function openSafetensorsCheckpoint(folderOrFile: string): Promise<SafetensorsCheckpoint> {
  const stats = await statOrUndefined(folderOrFile);
  if (stats === undefined) {
    throw new SafetensorsIoError(folderOrFile, 'does not exist');
  }
  if (stats.isDirectory()) {
    // Present in any form counts: a model.safetensors that is a FIFO or a link to a device must be
    // refused by name, not passed over for an index or reported as absent.
    const single = join(folderOrFile, SAFETENSORS_FILE);
    if ((await statOrUndefined(single)) !== undefined) {
      return openSingleFile(single);
    }
    const index = join(folderOrFile, SAFETENSORS_INDEX_FILE);
    if ((await statOrUndefined(index)) !== undefined) {
      return openIndexed(index);
    }
    throw new SafetensorsIoError(
      folderOrFile,
      `holds neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX_FILE}, so it is not a safetensors checkpoint`,
    );
  }
  return folderOrFile.endsWith('.json') ? openIndexed(folderOrFile) : openSingleFile(folderOrFile);
}

async function openSingleFile(path: string): Promise<SafetensorsCheckpoint> {
  const file = await openSafetensors(path);
  const tensors = new Map<string, CheckpointTensorInfo>();
  for (const [name, info] of file.tensors) {
    tensors.set(name, { ...info, file: path });
  }
  return new OpenCheckpoint(path, [file], file.metadata, tensors);
}

async function openIndexed(indexPath: string): Promise<SafetensorsCheckpoint> {
  const { metadata, weightMap } = await readIndex(indexPath);
  const folder = dirname(indexPath);

  // Shards in the order the index first names them, each opened once even when spelled two ways
  // ("a.safetensors", "./a.safetensors").
  const shards = new Map<string, { shardName: string; tensorNames: string[] }>();
  for (const [tensorName, shardName] of weightMap) {
    const shardPath = join(folder, shardName);
    const shard = shards.get(shardPath) ?? { shardName, tensorNames: [] };
    shard.tensorNames.push(tensorName);
    shards.set(shardPath, shard);
  }
  const files: SafetensorsFile[] = [];
  try {
    const tensors = new Map<string, CheckpointTensorInfo>();
    for (const [shardPath, { shardName, tensorNames }] of shards) {
      const file = await openShard(indexPath, shardPath, shardName, tensorNames);
      files.push(file);
      for (const [name, info] of file.tensors) {
        const holder = tensors.get(name);
        if (holder !== undefined) {
          throw new SafetensorsFormatError(
            indexPath,
            `tensor ${quoteName(name)} is stored twice, in ${quoteName(relative(folder, holder.file))} and in ${quoteName(shardName)}`,
          );
        }
        tensors.set(name, { ...info, file: shardPath });
      }
    }
    for (const [name, shardName] of weightMap) {
      const holder = tensors.get(name);
      if (holder?.file !== join(folder, shardName)) {
        const actually =
          holder === undefined ? 'no shard holds it' : `it is in ${quoteName(relative(folder, holder.file))}`;
        throw new SafetensorsFormatError(
          indexPath,
          `weight_map maps ${quoteName(name)} to ${quoteName(shardName)}, which holds no tensor of that name (${actually})`,
        );
      }
    }
    checkEveryTensorListed(indexPath, folder, tensors, weightMap);
    return new OpenCheckpoint(indexPath, files, metadata, tensors);
  } catch (error) {
    await Promise.all(files.map((file) => file.close().catch(() => undefined)));
    throw error;
  }
}

/**
 * A shard tensor the index does not list is one the index and the shards disagree on: a reader
 * going by the index would miss it, one going by the shards would load it.
 */
function checkEveryTensorListed(
  indexPath: string,
  folder: string,
  tensors: ReadonlyMap<string, CheckpointTensorInfo>,
  weightMap: ReadonlyMap<string, string>,
): void {
  const unlisted = [...tensors]
    .filter(([name]) => !weightMap.has(name))
    .map(([name, info]) => `${quoteName(name)} (in ${quoteName(relative(folder, info.file))})`);
  if (unlisted.length > 0) {
    throw new SafetensorsFormatError(
      indexPath,
      `weight_map does not list ${unlisted.length} tensor${unlisted.length === 1 ? '' : 's'} its shards hold: ${summarizeNames(unlisted)}`,
    );
  }
}

async function openShard(
  indexPath: string,
  shardPath: string,
  shardName: string,
  tensorNames: readonly string[],
): Promise<SafetensorsFile> {
  try {
    return await openSafetensors(shardPath);
  } catch (error) {
    // A broken shard reports itself; a missing one is the index's fault.
    if (!(error instanceof SafetensorsIoError)) throw error;
    const others = tensorNames.length > 1 ? ` and ${tensorNames.length - 1} more` : '';
    throw new SafetensorsFormatError(
      indexPath,
      `weight_map maps ${quoteName(tensorNames[0] ?? '')}${others} to ${quoteName(shardName)}, which cannot be opened: ${error.message}`,
      { cause: error },
    );
  }
}

interface CheckpointIndex {
  metadata: Record<string, unknown>;
  weightMap: Map<string, string>;
}

/** Reads and checks `{metadata?, weight_map: {tensor: shard file}}`. */
async function readIndex(indexPath: string): Promise<CheckpointIndex> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(indexPath, { maxBytes: MAX_INDEX_LENGTH, what: 'a safetensors index' });
  } catch (error) {
    if (error instanceof FileTooLargeError) {
      throw new SafetensorsFormatError(
        indexPath,
        `index is ${error.size} bytes, over the limit of ${MAX_INDEX_LENGTH} (MAX_INDEX_LENGTH)`,
        { cause: error },
      );
    }
    throw wrapIoError(indexPath, 'cannot read', error);
  }
  const text = decodeText(bytes, indexPath);
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsFormatError(indexPath, `index is not valid JSON (${reason})`, { cause: error });
  }
  if (!isPlainObject(index)) {
    throw new SafetensorsFormatError(indexPath, 'index must be a JSON object with a weight_map');
  }
  // JSON.parse keeps the last of two equal keys: a tensor mapped twice would silently lose a shard.
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) {
    const where = `index${duplicate.path.map((step) => `[${typeof step === 'number' ? step : quoteName(step)}]`).join('')}`;
    throw new SafetensorsFormatError(
      indexPath,
      `${where} holds ${quoteName(duplicate.key)} twice; which entry is meant is ambiguous`,
    );
  }
  const { metadata = {}, weight_map: weightMap } = index;
  if (!isPlainObject(metadata)) {
    throw new SafetensorsFormatError(indexPath, 'index metadata must be an object');
  }
  if (!isPlainObject(weightMap)) {
    throw new SafetensorsFormatError(
      indexPath,
      'index weight_map must be an object of tensor name → shard file',
    );
  }
  const folder = dirname(indexPath);
  const entries = new Map<string, string>();
  for (const [tensorName, shardName] of Object.entries(weightMap)) {
    const where = `weight_map[${quoteName(tensorName)}]`;
    if (typeof shardName !== 'string' || shardName.length === 0) {
      throw new SafetensorsFormatError(indexPath, `${where} must be a non-empty shard file name`);
    }
    if (!staysInside(folder, shardName)) {
      throw new SafetensorsFormatError(
        indexPath,
        `${where} = ${quoteName(shardName)} must name a file inside the checkpoint folder (no absolute path, no "..")`,
      );
    }
    entries.set(tensorName, shardName);
  }
  return { metadata, weightMap: entries };
}

/** A shard name from an index must not reach outside the checkpoint's folder. */
function staysInside(folder: string, shardName: string): boolean {
  if (shardName.includes('\0') || isAbsolute(shardName) || win32.isAbsolute(shardName)) return false;
  if (shardName.split(/[\\/]/).includes('..')) return false;
  const path = relative(resolve(folder), resolve(folder, shardName));
  return path.length > 0 && !path.startsWith('..') && !isAbsolute(path);
}

class OpenCheckpoint implements SafetensorsCheckpoint {
  readonly #fileByPath: ReadonlyMap<string, SafetensorsFile>;

  constructor(
    readonly path: string,
    readonly files: readonly SafetensorsFile[],
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly tensors: ReadonlyMap<string, CheckpointTensorInfo>,
  ) {
    this.#fileByPath = new Map(files.map((file) => [file.path, file]));
  }

  async readTensor(name: string): Promise<Tensor> {
    return this.#fileOf(name).readTensor(name);
  }

  async readTensorBytes(name: string, target?: Uint8Array): Promise<Uint8Array> {
    return this.#fileOf(name).readTensorBytes(name, target);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #fileOf(name: string): SafetensorsFile {
    const info = this.tensors.get(name);
    const file = info === undefined ? undefined : this.#fileByPath.get(info.file);
    if (file === undefined) {
      throw new MissingTensorError(
        this.path,
        name,
        closestNames(name, this.tensors.keys()),
        this.tensors.size,
      );
    }
    return file;
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (PtqError.isInstance(error)) throw error;
    if (
      typeof error === 'object' &&
      error !== null &&
      'code' in error &&
      (error.code === 'ENOENT' || error.code === 'ENOTDIR')
    ) {
      return undefined;
    }
    throw wrapIoError(path, 'cannot inspect', error);
  }
}
