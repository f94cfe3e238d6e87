import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { type AtomicWriteFailure, writeFileAtomically } from '@ptq/files';
import { tensorBytes } from '@ptq/tensor';
import type { ExternalDataPlacement } from './encode-model';
import { OnnxWriteError } from './errors';
import type { ModelDefinition } from './model-definition';
import { encodeModelBytes } from './serialize-model';
import { validateModel } from './validate-model';

export interface ExternalDataOptions {
  /** Initializers of at least this many bytes go to the data file. Default 1024. */
  threshold?: number;
  /** Data file name, beside the model. Default `<model file name>_data`, as transformers.js expects. */
  location?: string;
}

export interface WriteModelOptions {
  /** `true` for the defaults, or options. Default `false`: every initializer inline. */
  externalData?: boolean | ExternalDataOptions;
}

export const DEFAULT_EXTERNAL_DATA_THRESHOLD = 1024;

/** Offsets in the data file are multiples of this, so every tensor can be mapped and read aligned. */
export const EXTERNAL_DATA_ALIGNMENT = 64;

/** Largest single `write` (the kernel caps one write near 2 GiB). */
const WRITE_CHUNK_BYTES = 1 << 30;

function resolveExternalData(
  path: string,
  option: WriteModelOptions['externalData'],
): { threshold: number; location: string } | undefined {
  if (option === undefined || option === false) {
    return undefined;
  }
  const settings = option === true ? {} : option;
  const threshold = settings.threshold ?? DEFAULT_EXTERNAL_DATA_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new InvalidArgumentError(
      'externalData.threshold',
      `must be a non-negative integer number of bytes, got ${threshold}`,
    );
  }
  const location = settings.location ?? `${basename(path)}_data`;
  // onnxruntime resolves the location against the model's directory and refuses paths that leave it.
  if (location === '' || location === '.' || location === '..' || /[/\\]/.test(location)) {
    throw new InvalidArgumentError(
      'externalData.location',
      `must be a plain file name beside the model, got "${location}"`,
    );
  }
  if (location === basename(path)) {
    throw new InvalidArgumentError(
      'externalData.location',
      `must differ from the model file name "${location}"`,
    );
  }
  return { threshold, location };
}

/** Lays initializers at or above the threshold out in the data file, each at a 64-byte aligned offset. */
function placeInitializers(
  model: ModelDefinition,
  threshold: number,
  location: string,
): Map<string, ExternalDataPlacement> {
  const placements = new Map<string, ExternalDataPlacement>();
  let end = 0;
  for (const { name, tensor } of model.graph.initializers) {
    const length = tensor.data.byteLength;
    if (length < threshold || length === 0) {
      continue;
    }
    const offset = Math.ceil(end / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT;
    placements.set(name, { location, offset, length });
    end = offset + length;
  }
  return placements;
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const length = Math.min(WRITE_CHUNK_BYTES, bytes.byteLength - written);
    const result = await handle.write(bytes, written, length, position + written);
    written += result.bytesWritten;
  }
}

/** Streams each placed initializer's bytes straight from its typed array; the gaps are alignment padding. */
async function writeExternalData(
  handle: FileHandle,
  model: ModelDefinition,
  placements: ReadonlyMap<string, ExternalDataPlacement>,
): Promise<void> {
  let end = 0;
  for (const { name, tensor } of model.graph.initializers) {
    const placement = placements.get(name);
    if (placement === undefined) {
      continue;
    }
    if (placement.offset > end) {
      await writeFully(handle, new Uint8Array(placement.offset - end), end);
    }
    await writeFully(handle, tensorBytes(tensor), placement.offset);
    end = placement.offset + placement.length;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already gone, or never created.
  }
}

// The inner failure reaches the one OnnxWriteError below unchanged.
const passCause = ({ cause }: AtomicWriteFailure): unknown => cause;

/**
 * Writes a model to `path`. With `externalData`, initializers of at least `threshold` bytes go to
 * `<file name>_data` beside it (64-byte aligned), which is how models over 2 GiB are stored and
 * what transformers.js loads. Both files appear atomically: they are written under temporary names
 * and renamed into place; on failure neither is left behind. No data file is written when no
 * initializer reaches the threshold.
 */
export async function writeModel(
  model: ModelDefinition,
  path: string,
  options: WriteModelOptions = {},
): Promise<void> {
  const external = resolveExternalData(path, options.externalData);
  validateModel(model);
  const placements =
    external === undefined ? new Map() : placeInitializers(model, external.threshold, external.location);
  const modelBytes = encodeModelBytes(
    model,
    placements,
    external === undefined
      ? 'pass { externalData: true } to store initializers in a data file'
      : `lower externalData.threshold (now ${external.threshold} bytes) so more initializers go to the data file`,
  );

  const dataPath = external === undefined ? undefined : join(dirname(path), external.location);
  let dataRenamed = false;
  try {
    // The data file is renamed into place just before the model, which is the last to appear.
    await writeFileAtomically(
      path,
      async (modelHandle) => {
        await writeFully(modelHandle, modelBytes, 0);
        if (dataPath !== undefined && placements.size > 0) {
          await writeFileAtomically(
            dataPath,
            (dataHandle) => writeExternalData(dataHandle, model, placements),
            { toError: passCause },
          );
          dataRenamed = true;
        }
      },
      { toError: passCause },
    );
  } catch (cause) {
    if (dataRenamed && dataPath !== undefined) {
      // The model did not land, so a data file no model refers to would be a partial result.
      await removeQuietly(dataPath);
    }
    throw new OnnxWriteError(
      path,
      `could not write the model (${(cause as Error).message ?? String(cause)})`,
      {
        cause,
      },
    );
  }
}
