import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSession, type Device, type SessionHandle, withUnpackedWeights } from '@ptq/onnx';
import { serializeModel, writeModel } from '@ptq/onnx-format';
import { byteLengthOf, numElements } from '@ptq/tensor';
import type { Gpt2Graph } from './graph/build-gpt2-graph';

export interface SessionCacheOptions {
  readonly device: Device;
  readonly onNotice: ((message: string) => void) | undefined;
  /** Sessions kept at once; each holds its own copy of the weights. */
  readonly maxSessions: number;
}

export interface CachedSession {
  readonly handle: SessionHandle;
  readonly graph: Gpt2Graph;
}

interface Entry {
  readonly key: string;
  readonly ready: Promise<CachedSession>;
  readonly files: TemporaryFiles;
}

interface TemporaryFiles {
  /** Folder holding the model file when it went through external data. */
  folder?: string;
}

// A ModelProto must stay under 2 GiB; weights past this go to an external data file instead.
const INLINE_WEIGHT_LIMIT = 1.8 * 1024 ** 3;

/**
 * onnxruntime sessions of the GPT-2 graph, one per (tap set, logits flag), built on first use and
 * dropped when the module tree changes. Least recently used sessions are released past `maxSessions`.
 */
export class SessionCache {
  readonly #options: SessionCacheOptions;
  readonly #entries: Entry[] = [];
  #signature: readonly unknown[] = [];
  #device: SessionHandle['device'] | undefined;

  constructor(options: SessionCacheOptions) {
    this.#options = options;
  }

  /** The device sessions run on, once the first one exists. */
  get device(): SessionHandle['device'] | undefined {
    return this.#device;
  }

  /**
   * The session for `key`, building its graph with `build` when absent. `signature` lists the
   * identities the graph was built from; when it differs from the last call's, every session is dropped.
   * With `unpackedWeights` (part of what `key` names) the session leaves its weights unpacked.
   */
  async get(
    key: string,
    signature: readonly unknown[],
    build: () => Gpt2Graph,
    unpackedWeights = false,
  ): Promise<CachedSession> {
    if (!sameIdentities(signature, this.#signature)) {
      await this.clear();
      this.#signature = signature;
    }
    const index = this.#entries.findIndex((entry) => entry.key === key);
    if (index >= 0) {
      const [entry] = this.#entries.splice(index, 1);
      this.#entries.push(entry!);
      return entry!.ready;
    }
    const files: TemporaryFiles = {};
    const ready = this.#create(build, files, unpackedWeights);
    const entry: Entry = { key, ready, files };
    this.#entries.push(entry);
    ready.catch(() => {
      const position = this.#entries.indexOf(entry);
      if (position >= 0) this.#entries.splice(position, 1);
    });
    while (this.#entries.length > this.#options.maxSessions) {
      await release(this.#entries.shift()!);
    }
    return ready;
  }

  /** Releases every session (the next `get` builds afresh). */
  async clear(): Promise<void> {
    const entries = this.#entries.splice(0);
    this.#signature = [];
    await Promise.all(entries.map(release));
  }

  async #create(
    build: () => Gpt2Graph,
    files: TemporaryFiles,
    unpackedWeights: boolean,
  ): Promise<CachedSession> {
    const graph = build();
    const sessionOptions = {
      device: this.#options.device,
      onNotice: this.#options.onNotice,
      ...(unpackedWeights ? { sessionOptions: withUnpackedWeights() } : {}),
    };
    let handle: SessionHandle;
    if (initializerBytes(graph) <= INLINE_WEIGHT_LIMIT) {
      handle = await createSession(serializeModel(graph.model), sessionOptions);
    } else {
      const folder = await mkdtemp(path.join(tmpdir(), 'ptq-hf-gpt2-'));
      files.folder = folder;
      const file = path.join(folder, 'model.onnx');
      await writeModel(graph.model, file, { externalData: true });
      handle = await createSession(file, sessionOptions);
    }
    this.#device = handle.device;
    return { handle, graph };
  }
}

async function release(entry: Entry): Promise<void> {
  try {
    const { handle } = await entry.ready;
    await handle.session.release();
  } catch {
    // A session that failed to build has nothing to release; its error went to the caller.
  }
  if (entry.files.folder !== undefined) {
    await rm(entry.files.folder, { recursive: true, force: true });
  }
}

function initializerBytes(graph: Gpt2Graph): number {
  let total = 0;
  for (const { tensor } of graph.model.graph.initializers) {
    total += byteLengthOf(tensor.dtype, numElements(tensor.shape));
  }
  return total;
}

function sameIdentities(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, index) => Object.is(value, b[index]));
}
