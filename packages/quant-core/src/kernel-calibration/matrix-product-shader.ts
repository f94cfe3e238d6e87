/**
 * The tiled float32 matrix product every heavy step of kernel calibration runs: a block's linears,
 * the AWQ Gram matrices `Xᵀ·X` and the search's `D·H`. `C[M, N] = A[M, K] · B[K, N]`, then an
 * epilogue. Each workgroup computes a `tileRows × tileColumns` tile of C from workgroup-memory tiles
 * of A and B, `TILE_DEPTH` at a time, and loads the next tiles into registers while it multiplies.
 * Each thread keeps 8 × 8 sums in registers — two runs of 4 rows by two runs of 4 columns — and reads
 * each run from workgroup memory as one `vec4`: 4 reads of workgroup memory per 64 multiply-adds.
 * Every sum adds its products in order of depth, one multiply-add at a time.
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
 * Row strides of the workgroup tiles (`[depth][row]` and `[depth][column]`), in `vec4`s, one longer
 * than a tile: threads that store along a tile's depth (an operand stored along its depth) then hit
 * two memory banks where they would hit one.
 */
function tileStrides(threads: 128 | 256): { a: number; b: number } {
  const tile = matrixProductTile(threads);
  return { a: tile.rows / 4 + 1, b: tile.columns / 4 + 1 };
}

/** Workgroup memory of the product: one tile of A and one of B. */
export function matrixProductWorkgroupBytes(threads: 128 | 256): number {
  const strides = tileStrides(threads);
  return 16 * TILE_DEPTH * (strides.a + strides.b);
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

const COMPONENTS = ['x', 'y', 'z', 'w'] as const;

/** How one operand's tiles move from its buffer into workgroup memory, through registers. */
interface TileLoad {
  /** `vec4` registers each thread holds one tile in. */
  readonly registers: number;
  /** WGSL that loads register `register` from the buffer for the step starting at depth `k0`. */
  load(register: number, k0: string): string;
  /** WGSL that stores register `register` into the workgroup tile. */
  store(register: number): string;
}

/**
 * The load of A's or B's tiles: `extent` rows of A or columns of B by `TILE_DEPTH`. A thread takes 4
 * consecutive elements of the buffer at a time: along the tile's rows or columns when the buffer
 * runs that way (one `vec4` store), along depth otherwise (four stores of one word).
 */
function tileLoad(options: {
  readonly operand: 'a' | 'b';
  readonly extent: number;
  readonly alongDepth: boolean;
  readonly threads: number;
  readonly stride: number;
}): TileLoad {
  const { operand, extent, alongDepth, threads, stride } = options;
  const size = operand === 'a' ? 'sizes.m' : 'sizes.n';
  const first = operand === 'a' ? 'first_row' : 'first_column';
  const offset = `sizes.${operand}_offset`;
  const register = (index: number) => `p${operand}${index}`;
  const vectors = (TILE_DEPTH * extent) / 4;
  if (!alongDepth) {
    // Vector q of a depth row: elements first + 4q … 4q + 3 at depth k, stored at `k·size + x`.
    const perRow = extent / 4;
    return {
      registers: vectors / threads,
      load: (index, k0) => {
        const element = (j: number) => `if (k < sizes.k && x + ${j}u < ${size}) {
        ${register(index)}.${COMPONENTS[j]} = ${operand}[${offset} + k * ${size} + x + ${j}u];
      }`;
        return `{
      let v = tid + ${index * threads}u;
      let k = ${k0} + v / ${perRow}u;
      let x = ${first} + 4u * (v % ${perRow}u);
      ${register(index)} = vec4<f32>(0.0);
      ${[0, 1, 2, 3].map(element).join('\n      ')}
    }`;
      },
      store: (index) => `{
      let v = tid + ${index * threads}u;
      tile_${operand}[(v / ${perRow}u) * ${stride}u + v % ${perRow}u] = ${register(index)};
    }`,
    };
  }
  // Row (or column) x of the tile, depths k … k + 3, stored at `x·sizes.k + k`.
  return {
    registers: vectors / threads,
    load: (index, k0) => {
      const element = (j: number) => `if (x < ${size} && k + ${j}u < sizes.k) {
        ${register(index)}.${COMPONENTS[j]} = ${operand}[${offset} + x * sizes.k + k + ${j}u];
      }`;
      return `{
      let v = tid + ${index * threads}u;
      let k = ${k0} + 4u * (v % 4u);
      let x = ${first} + v / 4u;
      ${register(index)} = vec4<f32>(0.0);
      ${[0, 1, 2, 3].map(element).join('\n      ')}
    }`;
    },
    store: (index) => {
      const component = (j: number) =>
        `tile_${operand}[(depth + ${j}u) * ${stride}u + within / 4u][within % 4u] = ${register(index)}.${COMPONENTS[j]};`;
      return `{
      let v = tid + ${index * threads}u;
      let depth = 4u * (v % 4u);
      let within = v / 4u;
      ${[0, 1, 2, 3].map(component).join('\n      ')}
    }`;
    },
  };
}

/**
 * Bindings: 0 the sizes (`matrixProductSizes`), 1 A, 2 B, 3 C, 4 the bias (bias epilogues only).
 * Dispatch `matrixProductWorkgroups`.
 */
export function matrixProductShader(options: MatrixProductShaderOptions): string {
  const { threads } = options;
  const tile = matrixProductTile(threads);
  const strides = tileStrides(threads);
  const hasBias = options.epilogue.startsWith('bias');
  const symmetric = options.symmetric === true;
  if (symmetric && hasBias)
    throw new RangeError('a symmetric product takes no bias (its epilogue adds one per column)');
  const loads = [
    tileLoad({
      operand: 'a',
      extent: tile.rows,
      alongDepth: options.a === 'rows',
      threads,
      stride: strides.a,
    }),
    tileLoad({
      operand: 'b',
      extent: tile.columns,
      alongDepth: options.b === 'columns',
      threads,
      stride: strides.b,
    }),
  ];
  const registers = loads.flatMap((load, operand) =>
    Array.from({ length: load.registers }, (_, index) => `var p${'ab'[operand]}${index}: vec4<f32>;`),
  );
  const loadAll = (k0: string) =>
    loads.flatMap((load) => Array.from({ length: load.registers }, (_, index) => load.load(index, k0)));
  const storeAll = loads.flatMap((load) =>
    Array.from({ length: load.registers }, (_, index) => load.store(index)),
  );
  // Each thread's rows: 4 from 4·thread_row, 4 more half a tile below; its columns likewise.
  const halfA = tile.rows / 8;
  const halfB = tile.columns / 8;
  const rowOf = (i: number) =>
    i < 4 ? `4u * thread_row + ${i}u` : `${tile.rows / 2 + i - 4}u + 4u * thread_row`;
  const columnOf = (j: number) =>
    j < 4 ? `4u * thread_column + ${j}u` : `${tile.columns / 2 + j - 4}u + 4u * thread_column`;
  const operandOf = (name: string, index: number) =>
    `${name}_${index < 4 ? 'low' : 'high'}.${COMPONENTS[index % 4]}`;
  const step: string[] = [
    `let a_low = tile_a[depth * ${strides.a}u + thread_row];`,
    `let a_high = tile_a[depth * ${strides.a}u + thread_row + ${halfA}u];`,
    `let b_low = tile_b[depth * ${strides.b}u + thread_column];`,
    `let b_high = tile_b[depth * ${strides.b}u + thread_column + ${halfB}u];`,
  ];
  for (let i = 0; i < PER_THREAD; i++) {
    for (let j = 0; j < PER_THREAD; j++) {
      step.push(`sums[${i * PER_THREAD + j}] += ${operandOf('a', i)} * ${operandOf('b', j)};`);
    }
  }
  // Every index into `sums` is a constant: an index computed at run time would make the compiler keep
  // the 64 sums in memory instead of registers.
  const stores: string[] = [];
  const mirrored = store(options.epilogue).replace(/c\[index\]/g, 'c[mirror]');
  for (let i = 0; i < PER_THREAD; i++) {
    stores.push(`if (first_row + ${rowOf(i)} < sizes.m) {
    let row = first_row + ${rowOf(i)};`);
    for (let j = 0; j < PER_THREAD; j++) {
      stores.push(`  if (first_column + ${columnOf(j)} < sizes.n) {
      let column = first_column + ${columnOf(j)};
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

var<workgroup> tile_a: array<vec4<f32>, ${TILE_DEPTH * strides.a}>;
var<workgroup> tile_b: array<vec4<f32>, ${TILE_DEPTH * strides.b}>;

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
  ${registers.join('\n  ')}
  ${loadAll('0u').join('\n    ')}
  for (var k0 = 0u; k0 < sizes.k; k0 += ${TILE_DEPTH}u) {
    ${storeAll.join('\n    ')}
    workgroupBarrier();
    // The next step's tiles load while this one multiplies.
    if (k0 + ${TILE_DEPTH}u < sizes.k) {
      ${loadAll(`k0 + ${TILE_DEPTH}u`).join('\n      ')}
    }
    for (var depth = 0u; depth < ${TILE_DEPTH}u; depth++) {
      ${step.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}
`;
}
