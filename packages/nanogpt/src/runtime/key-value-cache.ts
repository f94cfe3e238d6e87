import type { Tensor as OrtTensor } from 'onnxruntime-node';

/**
 * The attention keys and values of every layer for a batch, plus the attention mask and next
 * positions they belong to. The tensors are the session's own `present.*` outputs, fed back as the
 * next step's `past_key_values.*` without passing through JS arrays; on WebGPU they stay in GPU
 * buffers. Call `dispose()` when done (GPU buffers are not freed by the garbage collector).
 */
export class KeyValueCache {
  /** Rows of the batch. */
  readonly rows: number;
  #keys: OrtTensor[];
  #values: OrtTensor[];
  /** Per row: 1 for a real token, 0 for padding, one entry per cached position. */
  readonly #mask: number[][];
  /** Per row: the position id of the next token (its count of real tokens so far). */
  readonly #nextPositions: number[];
  #disposed = false;

  constructor(keys: OrtTensor[], values: OrtTensor[], mask: number[][]) {
    this.rows = mask.length;
    this.#keys = keys;
    this.#values = values;
    this.#mask = mask.map((row) => [...row]);
    this.#nextPositions = mask.map((row) => row.reduce((sum, bit) => sum + bit, 0));
  }

  /** Cached positions per row, padding included. */
  get length(): number {
    return this.#mask[0]?.length ?? 0;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Per layer, the tensors to feed as `past_key_values.{i}.key` / `.value`. */
  get keys(): readonly OrtTensor[] {
    return this.#keys;
  }

  get values(): readonly OrtTensor[] {
    return this.#values;
  }

  /** The mask of the cached positions (a copy). */
  get attentionMask(): number[][] {
    return this.#mask.map((row) => [...row]);
  }

  /** The position id the next token of each row gets. */
  get nextPositions(): readonly number[] {
    return this.#nextPositions;
  }

  /**
   * Takes the `present.*` tensors of a step that fed one more token per row (all real), disposing the
   * tensors they replace.
   */
  advance(keys: OrtTensor[], values: OrtTensor[]): void {
    this.#release();
    this.#keys = keys;
    this.#values = values;
    for (let row = 0; row < this.rows; row += 1) {
      this.#mask[row]!.push(1);
      this.#nextPositions[row]! += 1;
    }
  }

  /** Frees the cached tensors (GPU buffers on WebGPU). The cache cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#release();
    this.#keys = [];
    this.#values = [];
    this.#disposed = true;
  }

  #release(): void {
    for (const tensor of [...this.#keys, ...this.#values]) {
      tensor.dispose();
    }
  }
}
