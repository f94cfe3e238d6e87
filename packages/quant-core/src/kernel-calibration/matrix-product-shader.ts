/**
 * The tiled float32 matrix product every heavy step of kernel calibration runs: a block's linears,
 * the AWQ Gram matrices `Xᵀ·X` and the search's `D·H`. `C[M, N] = A[M, K] · B[K, N]`, then an
 * epilogue. Each workgroup computes a `tileRows × tileColumns` tile of C from workgroup-memory tiles
 * of A and B, `TILE_DEPTH` at a time; each thread keeps 8 × 8 sums in registers, rows and columns
 * strided over the tile so neighbouring threads read neighbouring words of workgroup memory.
 */

/** Input features per step of the product. */
const TILE_DEPTH = 16;
/** Sums per thread along each of the two dimensions. */
const PER_THREAD = 8;
/** Threads along the tile's columns. */
const THREAD_COLUMNS = 16;

/**
 * How an operand is stored: `rows` holds `X[r, c]` at `r·columns + c`; `columns` holds it at
 * `c·rows + r`, i.e. the buffer is the transpose (a weight `[out, in]` as B, or `Xᵀ` as A).
 */
export type OperandLayout = 'rows' | 'columns';

export type MatrixProductEpilogue =
  /** `C = A·B` */
  | 'store'
  /** `C = A·B + bias` */
  | 'bias'
  /** `C = gelu_new(A·B + bias)` */
  | 'bias-gelu'
  /** `C = C + (A·B + bias)`: a linear added into the residual stream */
  | 'bias-residual'
  /** `C = C + A·B / divisor`: a batch's term of a running sum */
  | 'accumulate-divided';

export interface MatrixProductShaderOptions {
  readonly a: OperandLayout;
  readonly b: OperandLayout;
  readonly epilogue: MatrixProductEpilogue;
  /** Threads per workgroup: 128 (WebGPU compatibility mode's most) or 256. */
  readonly threads: 128 | 256;
  /**
   * C is symmetric (a Gram matrix `Xᵀ·X`, m = n): only workgroups whose tile reaches the diagonal or
   * above it run, and each element above the diagonal is also stored at its mirror. Element (c, r)
   * would add the same products in the same order as (r, c), so C is the same to the bit, at about
   * half the work.
   */
  readonly symmetric?: boolean;
}

export interface MatrixProductTile {
  readonly rows: number;
  readonly columns: number;
}

/** C's rows and columns one workgroup computes. */
export function matrixProductTile(threads: 128 | 256): MatrixProductTile {
  return { rows: (threads / THREAD_COLUMNS) * PER_THREAD, columns: THREAD_COLUMNS * PER_THREAD };
}

/**
 * Row strides of the workgroup tiles (`[depth][row]` and `[depth][column]`), one word longer than a
 * tile: threads that store a column of a tile (an operand read along its depth) then hit different
 * memory banks instead of one.
 */
function tileStrides(threads: 128 | 256): { a: number; b: number } {
  const tile = matrixProductTile(threads);
  return { a: tile.rows + 1, b: tile.columns + 1 };
}

/** Workgroup memory of the product: one tile of A and one of B. */
export function matrixProductWorkgroupBytes(threads: 128 | 256): number {
  const strides = tileStrides(threads);
  return 4 * TILE_DEPTH * (strides.a + strides.b);
}

/**
 * The uniform's words: `m, n, k` (sizes), `a_offset, b_offset, c_offset` (first element of each
 * operand in its buffer), `divisor` (float32) and one unused word.
 */
export function matrixProductSizes(sizes: {
  m: number;
  n: number;
  k: number;
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  divisor?: number;
}): ArrayBuffer {
  const words = new ArrayBuffer(32);
  new Uint32Array(words, 0, 6).set([
    sizes.m,
    sizes.n,
    sizes.k,
    sizes.aOffset ?? 0,
    sizes.bOffset ?? 0,
    sizes.cOffset ?? 0,
  ]);
  new Float32Array(words, 24, 1)[0] = sizes.divisor ?? 1;
  return words;
}

/** Workgroups `[x, y]` covering C `[m, n]`. */
export function matrixProductWorkgroups(threads: 128 | 256, m: number, n: number): [number, number] {
  const tile = matrixProductTile(threads);
  return [Math.ceil(n / tile.columns), Math.ceil(m / tile.rows)];
}

/** gelu_new as the GPT-2 graph computes it: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`. */
export const GELU_NEW_WGSL = `fn gelu_new(x: f32) -> f32 {
  let inner = ${Math.fround(Math.sqrt(2 / Math.PI))} * (x + 0.044715 * (x * x * x));
  // tanh saturates long before ±10; clamping keeps a tanh built on exp from overflowing.
  return 0.5 * x * (tanh(clamp(inner, -10.0, 10.0)) + 1.0);
}`;

function store(epilogue: MatrixProductEpilogue): string {
  switch (epilogue) {
    case 'store':
      return 'c[index] = sum;';
    case 'bias':
      return 'c[index] = sum + bias[column];';
    case 'bias-gelu':
      return 'c[index] = gelu_new(sum + bias[column]);';
    case 'bias-residual':
      return 'c[index] = c[index] + (sum + bias[column]);';
    case 'accumulate-divided':
      return 'c[index] = c[index] + sum / sizes.divisor;';
  }
}

/**
 * Bindings: 0 the sizes (`matrixProductSizes`), 1 A, 2 B, 3 C, 4 the bias (bias epilogues only).
 * Dispatch `matrixProductWorkgroups`.
 */
export function matrixProductShader(options: MatrixProductShaderOptions): string {
  const { threads } = options;
  const tile = matrixProductTile(threads);
  const strides = tileStrides(threads);
  const threadRows = threads / THREAD_COLUMNS;
  const hasBias = options.epilogue.startsWith('bias');
  const loadA =
    options.a === 'rows'
      ? `let depth = e % ${TILE_DEPTH}u;
      let row = e / ${TILE_DEPTH}u;
      let m = first_row + row;
      let k = k0 + depth;
      var value = 0.0;
      if (m < sizes.m && k < sizes.k) {
        value = a[sizes.a_offset + m * sizes.k + k];
      }`
      : `let row = e % ${tile.rows}u;
      let depth = e / ${tile.rows}u;
      let m = first_row + row;
      let k = k0 + depth;
      var value = 0.0;
      if (m < sizes.m && k < sizes.k) {
        value = a[sizes.a_offset + k * sizes.m + m];
      }`;
  const loadB =
    options.b === 'rows'
      ? `let column = e % ${tile.columns}u;
      let depth = e / ${tile.columns}u;
      let n = first_column + column;
      let k = k0 + depth;
      var value = 0.0;
      if (n < sizes.n && k < sizes.k) {
        value = b[sizes.b_offset + k * sizes.n + n];
      }`
      : `let depth = e % ${TILE_DEPTH}u;
      let column = e / ${TILE_DEPTH}u;
      let n = first_column + column;
      let k = k0 + depth;
      var value = 0.0;
      if (n < sizes.n && k < sizes.k) {
        value = b[sizes.b_offset + n * sizes.k + k];
      }`;
  const step: string[] = [];
  for (let i = 0; i < PER_THREAD; i++) {
    step.push(`let a${i} = tile_a[depth * ${strides.a}u + thread_row + ${i * threadRows}u];`);
  }
  for (let j = 0; j < PER_THREAD; j++) {
    step.push(`let b${j} = tile_b[depth * ${strides.b}u + thread_column + ${j * THREAD_COLUMNS}u];`);
  }
  for (let i = 0; i < PER_THREAD; i++) {
    for (let j = 0; j < PER_THREAD; j++) step.push(`sums[${i * PER_THREAD + j}] += a${i} * b${j};`);
  }
  // Every index into `sums` is a constant: an index computed at run time would make the compiler keep
  // the 64 sums in memory instead of registers.
  const stores: string[] = [];
  const symmetric = options.symmetric === true;
  if (symmetric && hasBias)
    throw new RangeError('a symmetric product takes no bias (its epilogue adds one per column)');
  const mirrored = store(options.epilogue).replace(/c\[index\]/g, 'c[mirror]');
  for (let i = 0; i < PER_THREAD; i++) {
    stores.push(`if (first_row + thread_row + ${i * threadRows}u < sizes.m) {
    let row = first_row + thread_row + ${i * threadRows}u;`);
    for (let j = 0; j < PER_THREAD; j++) {
      stores.push(`  if (first_column + thread_column + ${j * THREAD_COLUMNS}u < sizes.n) {
      let column = first_column + thread_column + ${j * THREAD_COLUMNS}u;
      let sum = sums[${i * PER_THREAD + j}];
      let index = sizes.c_offset + row * sizes.n + column;
      ${
        symmetric
          ? `if (row <= column) {
        ${store(options.epilogue)}
        if (row < column) {
          let mirror = sizes.c_offset + column * sizes.n + row;
          ${mirrored}
        }
      }`
          : store(options.epilogue)
      }
    }`);
    }
    stores.push('}');
  }
  return /* wgsl */ `
struct Sizes {
  m: u32,
  n: u32,
  k: u32,
  a_offset: u32,
  b_offset: u32,
  c_offset: u32,
  divisor: f32,
  unused: u32,
}
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
${hasBias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}
${options.epilogue === 'bias-gelu' ? GELU_NEW_WGSL : ''}

var<workgroup> tile_a: array<f32, ${TILE_DEPTH * strides.a}>;
var<workgroup> tile_b: array<f32, ${TILE_DEPTH * strides.b}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let thread_column = tid % ${THREAD_COLUMNS}u;
  let thread_row = tid / ${THREAD_COLUMNS}u;
  let first_row = group.y * ${tile.rows}u;
  let first_column = group.x * ${tile.columns}u;
  ${
    symmetric
      ? `// A tile wholly below the diagonal: its elements are the mirrors of tiles above it.
  if (first_row >= first_column + ${tile.columns}u) {
    return;
  }`
      : ''
  }
  var sums: array<f32, ${PER_THREAD * PER_THREAD}>;
  for (var k0 = 0u; k0 < sizes.k; k0 += ${TILE_DEPTH}u) {
    for (var e = tid; e < ${TILE_DEPTH * tile.rows}u; e += ${threads}u) {
      ${loadA}
      tile_a[depth * ${strides.a}u + row] = value;
    }
    for (var e = tid; e < ${TILE_DEPTH * tile.columns}u; e += ${threads}u) {
      ${loadB}
      tile_b[depth * ${strides.b}u + column] = value;
    }
    workgroupBarrier();
    for (var depth = 0u; depth < ${TILE_DEPTH}u; depth++) {
      ${step.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}
`;
}
