import { Module } from '@ptq/module-path';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { GraphLinear } from '../graph-linear';

/** nn.Linear: weight [out, in], optional bias [out]. GPT-2 uses it for `lm_head` (no bias). */
export class Linear extends Module implements GraphLinear {
  #transposed: { source: Tensor<'float32'>; value: Tensor<'float32'> } | undefined;

  constructor(
    public weight: Tensor<'float32'>,
    public bias: Tensor<'float32'> | undefined = undefined,
  ) {
    super();
  }

  get inFeatures(): number {
    return this.weight.shape[1] ?? 0;
  }

  get outFeatures(): number {
    return this.weight.shape[0] ?? 0;
  }

  /**
   * The weight transposed to [in, out], computed once per weight tensor (assigning a new `weight`
   * recomputes it; changing the old tensor's values in place does not).
   */
  graphWeight(): Tensor<'float32'> {
    if (this.#transposed?.source !== this.weight) {
      this.#transposed = { source: this.weight, value: transpose(this.weight) };
    }
    return this.#transposed.value;
  }
}

function transpose(matrix: Tensor<'float32'>): Tensor<'float32'> {
  const [rows = 0, columns = 0] = matrix.shape;
  const source = matrix.data;
  const target = new Float32Array(rows * columns);
  // Tiles keep both the reads and the writes within a few cache lines (GPT-2's lm_head is 50257 × 768).
  const tile = 64;
  for (let rowStart = 0; rowStart < rows; rowStart += tile) {
    const rowEnd = Math.min(rowStart + tile, rows);
    for (let columnStart = 0; columnStart < columns; columnStart += tile) {
      const columnEnd = Math.min(columnStart + tile, columns);
      for (let row = rowStart; row < rowEnd; row++) {
        const offset = row * columns;
        for (let column = columnStart; column < columnEnd; column++)
          target[column * rows + row] = source[offset + column]!;
      }
    }
  }
  return createTensor('float32', [columns, rows], target);
}
