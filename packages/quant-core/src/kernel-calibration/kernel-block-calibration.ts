import { InvalidArgumentError } from '@ptq/errors';
import { embedRowSumInto, type GPT2LMHeadModel, type GraphLinear, gpt2BlockOfLinear } from '@ptq/hf-gpt2';
import { watchDeviceErrors } from '@ptq/nanogpt';
import { DeviceUnavailableError } from '@ptq/onnx';
import type { Tensor } from '@ptq/tensor';
import {
  type AwqLayerResult,
  type AwqProgress,
  actScaleOf,
  addBatchMean,
  awqAlphas,
  awqScale,
  leastLossIndex,
  type ScaledWeight,
} from '../awq-lite';
import type { BlockProgress } from '../block-by-block-calibration';
import { type InputCalibrator, inputAmaxTensor } from '../calibrator';
import { QuantLinear } from '../quant-linear';
import type { RecordedBatch } from '../record-batches';
import {
  ABS_MAX_SHADER,
  absMaxWorkgroups,
  attentionShader,
  attentionWorkgroupBytes,
  attentionWorkgroups,
  blockMaxShader,
  blockMaxWorkgroups,
  type ColumnTerm,
  candidateDifferenceShader,
  candidateDifferenceWorkgroups,
  columnChunks,
  columnMeanShader,
  columnMeanWorkgroups,
  columnPartialSumsShader,
  columnPartialSumsWorkgroups,
  elementWorkgroups,
  gatherRowsShader,
  layerNormShader,
  maskedAbsMaxShader,
  rowDotShader,
  rowWorkgroups,
  scaleColumnsShader,
  transposeShader,
} from './calibration-shaders';
import { DawnCompute, type MappedRegions, type ReadRegion } from './dawn-compute';
import {
  type MatrixProductEpilogue,
  matrixProductShader,
  matrixProductSizes,
  matrixProductWorkgroupBytes,
  matrixProductWorkgroups,
  type OperandLayout,
} from './matrix-product-shader';

/** A block's linears, in forward order. */
const BLOCK_LINEARS = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;

/**
 * Which set of buffers a block's searches and scaling read — its weights and Gram matrices: three
 * sets, as the runs of the block two after are submitted before this block's scaling.
 */
function bufferSetOf(layer: number): number {
  return layer % 3;
}

/** Rows (tokens) one run of a block takes at most: consecutive batches of one length run together. */
const MAX_RUN_ROWS = 32768;
/** Bytes of candidate differences (and as many of their products with H) on the device at once. */
const CANDIDATE_BYTES = 256 * 1024 * 1024;

export interface KernelCalibrationOptions {
  readonly device: GPUDevice;
  /** Linears whose per-tensor input amax is calibrated (each calibrator needs only `absMax`). */
  readonly inputCalibrators: ReadonlyMap<string, InputCalibrator>;
  /** AWQ-lite's alpha step, when AWQ-lite calibrates every linear of `linears`. */
  readonly awqAlphaStep?: number;
  readonly onProgress?: (event: BlockProgress | AwqProgress) => void;
  /**
   * Called with a linear's chosen AWQ scale as soon as its block's search is done, while the device
   * runs the next block: its weights on the host are no longer read, so the scale may be applied.
   */
  readonly onAwqScale?: (path: string, scale: Float32Array, scaled?: ScaledWeight) => void;
  /**
   * Linears whose weight's max |w| is also taken, on the device while the weight is there for its
   * block: a per-tensor max weight amax without a pass over the weight on the host.
   */
  readonly weightMaxima?: ReadonlySet<string>;
  /**
   * Called once calibration reads a linear's weight no more: its final `[out, in]` (transposed, or
   * scaled by AWQ, on the device) has come back to the host and `onAwqScale` has taken it.
   */
  readonly onWeightsDone?: (path: string) => void;
}

export interface KernelCalibrationResult {
  readonly inputAmax: Map<string, Tensor<'float32'>>;
  /** max |w| of each weight of `weightMaxima` that a block holds (lm_head's is not taken here). */
  readonly weightMaxima: Map<string, number>;
  readonly awq: Map<string, AwqLayerResult>;
  readonly awqScales: Map<string, Float32Array>;
}

/**
 * Why calibration cannot run on the kernels for this model and these batches, or undefined when it
 * can: the kernels take only max statistics of the inputs and AWQ-lite in the Gram form, and see the
 * unquantized block linears.
 */
export function kernelCalibrationProblem(
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  options: Pick<KernelCalibrationOptions, 'inputCalibrators' | 'awqAlphaStep'>,
): string | undefined {
  for (const [path, calibrator] of options.inputCalibrators) {
    if (calibrator.needs.input === true) return `the input calibrator of ${path} reads whole activations`;
  }
  if (options.awqAlphaStep !== undefined && linears.has('lm_head')) return 'AWQ-lite calibrates lm_head';
  const { n_embd: width, n_head: heads } = model.config;
  if (width % heads !== 0 || (width / heads) % 8 !== 0) return `a head size of ${width / heads}`;
  for (const path of model.linearPaths) {
    if (path === 'lm_head') continue;
    const linear = model.linear(path);
    if (linear.graphPreQuantScale?.() !== undefined || linear.graphInputQuantizer?.() !== undefined) {
      return `${path} is already quantized`;
    }
  }
  return undefined;
}

interface RunBatch {
  /** The batch's index among all batches. */
  readonly index: number;
  /** Its first row in the run. */
  readonly firstRow: number;
  /** Its real tokens. */
  readonly realRows: number;
  /** With padding: the run rows of its real tokens (u32), gathered before statistics are taken. */
  readonly realRowIndices?: GPUBuffer;
}

interface Run {
  readonly batches: RunBatch[];
  readonly sequenceLength: number;
  readonly sequences: number;
  readonly rows: number;
  readonly residual: GPUBuffer;
  /** 1 for a real token, 0 for padding, per row (u32). */
  readonly mask: GPUBuffer;
  /** Whether any row is padding. */
  readonly padded: boolean;
}

interface UploadedLinear {
  readonly weight: GPUBuffer;
  /** How the weight buffer holds `[in, out]` as the product's B. */
  readonly layout: OperandLayout;
  /** The linear's Conv1D weight `[in, out]`, not yet transposed on the host, as uploaded. */
  readonly conv1d?: Float32Array;
  readonly bias: GPUBuffer;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/**
 * Weights coming back from the device — a block's scaled weights, or Conv1D weights transposed
 * there — each with what to do once its values have arrived.
 */
interface Returning {
  readonly regions: readonly ReadRegion[];
  readonly arrived: (values: readonly Float32Array[]) => void;
}

/** The regions of `entries`, in order: one read for all of them. */
function regionsOf(entries: readonly Returning[]): ReadRegion[] {
  return entries.flatMap((entry) => entry.regions);
}

/** A block whose runs are recorded: the buffers its AWQ searches read. */
interface RecordedBlock {
  /** Its linears that AWQ-lite calibrates. */
  readonly blockAwq: readonly string[];
  readonly means: ReadonlyMap<string, GPUBuffer>;
  readonly grams: ReadonlyMap<string, GPUBuffer>;
  /** W as `[out, in]`. */
  readonly rowsWeights: ReadonlyMap<string, GPUBuffer>;
  readonly weightScales: ReadonlyMap<string, GPUBuffer>;
  /** Its Conv1D weights transposed on the device that come back as they are (not scaled by AWQ). */
  readonly back: readonly Returning[];
}

/**
 * Max and AWQ-lite calibration on ptq's own WGSL kernels (Dawn): the same statistics as
 * `calibrateBlockByBlock` — of the unquantized model, block by block, the hidden states kept on the
 * device from block to block — with the block's forward, the input statistics, the Gram matrices and
 * the AWQ search's losses all on the GPU, the next block's runs queued behind the current block's.
 * GPT-2's Conv1D weights that no one has read yet go up as they are and come back transposed (and
 * AWQ-scaled) for the host. Check `kernelCalibrationProblem` first.
 */
export async function calibrateOnKernels(
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  batches: readonly RecordedBatch[],
  options: KernelCalibrationOptions,
): Promise<KernelCalibrationResult> {
  if (batches.length === 0) throw new InvalidArgumentError('forwardLoop', 'ran no batch through the model');
  const problem = kernelCalibrationProblem(model, linears, options);
  if (problem !== undefined) {
    throw new InvalidArgumentError('calibration', `cannot run on the kernels engine: ${problem}`);
  }
  const compute = new DawnCompute(options.device);
  // A submission Dawn drops reads back as zeros: no statistic is returned from a device that erred.
  const errors = watchDeviceErrors(options.device, 'calibration');
  try {
    const result = await calibrate(compute, model, linears, batches, options);
    errors.check();
    return result;
  } finally {
    errors.stop();
    compute.destroy();
  }
}

async function calibrate(
  compute: DawnCompute,
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  batches: readonly RecordedBatch[],
  options: KernelCalibrationOptions,
): Promise<KernelCalibrationResult> {
  const { config } = model;
  const width = config.n_embd;
  const heads = config.n_head;
  // 256 threads a product workgroup where the adapter allows them (compatibility mode allows 128).
  const threads =
    compute.limits.maxComputeInvocationsPerWorkgroup >= 256 &&
    compute.limits.maxComputeWorkgroupStorageSize >= matrixProductWorkgroupBytes(256)
      ? 256
      : 128;
  checkWorkgroupMemory(compute, 'the matrix product', matrixProductWorkgroupBytes(threads));
  checkWorkgroupMemory(compute, 'attention', attentionWorkgroupBytes({ heads, headSize: width / heads }));
  const layerOf = (path: string): number => gpt2BlockOfLinear(path, config.n_layer);
  const awqPaths = options.awqAlphaStep === undefined ? [] : [...linears.keys()];
  const alphas = options.awqAlphaStep === undefined ? [] : awqAlphas(options.awqAlphaStep);
  const tapped = new Set([...options.inputCalibrators.keys(), ...awqPaths]);
  const lastLayer = Math.max(-1, ...[...tapped].map(layerOf));
  const awq = new Map<string, AwqLayerResult>();
  const awqScales = new Map<string, Float32Array>();
  // One max slot per (calibrated linear, batch), then one per weight whose max is taken here.
  const maxSlots = new Map(
    [...options.inputCalibrators.keys()].map((path, index) => [path, index * batches.length]),
  );
  const weightSlots = new Map(
    [...(options.weightMaxima ?? [])]
      .filter((path) => path !== 'lm_head' && layerOf(path) <= lastLayer)
      .map((path, index) => [path, maxSlots.size * batches.length + index]),
  );
  const maximaFloats = Math.max(1, maxSlots.size * batches.length + weightSlots.size);
  const maxima = compute.buffer(4 * maximaFloats, 'the input maxima');

  const candidateBytes = Math.min(CANDIDATE_BYTES, bindingLimit(compute));
  // Statistics that are all maxima do not care which tokens run together: batches of any length may
  // then share a run, padded to its longest.
  const maximaOnly =
    awqPaths.length === 0 &&
    [...options.inputCalibrators.values()].every((calibrator) => calibrator.mergesBatches === true);
  const runs = planRuns(compute, model, batches, { maxRows: maxRunRows(compute, model), maximaOnly });
  const largestRun = Math.max(...runs.map((run) => run.rows));
  const inner = model.linear('transformer.h.0.mlp.c_fc').outFeatures;
  const normalized = compute.buffer(4 * largestRun * width, 'the LayerNorm outputs');
  const qkv = compute.buffer(4 * largestRun * 3 * width, 'the attention projections');
  const attended = compute.buffer(4 * largestRun * width, 'the attention outputs');
  const expanded = compute.buffer(4 * largestRun * inner, 'the MLP activations');
  const largestBatchRows = Math.max(...runs.flatMap((run) => run.batches.map((batch) => batch.realRows)));
  const paddedRows = runs.flatMap((run) =>
    run.batches.filter((batch) => batch.realRowIndices).map((batch) => batch.realRows),
  );
  const compact =
    paddedRows.length === 0
      ? undefined
      : compute.buffer(4 * Math.max(...paddedRows) * Math.max(width, inner), 'the real tokens');
  let searched = 0;
  // Every block has the same shapes: its buffers are made for the first block and kept for the next.
  const kept = new Map<string, GPUBuffer>();
  const keep = (key: string, floats: number, what: string): GPUBuffer => {
    let buffer = kept.get(key);
    if (buffer === undefined || buffer.size < 4 * floats) {
      compute.release(buffer);
      buffer = compute.buffer(4 * floats, what);
      kept.set(key, buffer);
    }
    return buffer;
  };
  const keepWith = (key: string, data: Float32Array, what: string): GPUBuffer => {
    const buffer = keep(key, data.length, what);
    compute.write(buffer, 0, data);
    return buffer;
  };
  // Column means go through chunks' partial sums (many threads a column instead of one).
  const partialFloats = Math.max(
    0,
    ...awqPaths.map((path) => {
      const { inFeatures, outFeatures } = linears.get(path)!;
      return inFeatures * columnChunks(Math.max(outFeatures, largestBatchRows));
    }),
  );
  const partial =
    awqPaths.length === 0 ? undefined : compute.buffer(4 * partialFloats, 'column partial sums');
  // One pair of candidate buffers serves every search: dispatches run in order.
  const candidateFloats = Math.max(
    0,
    ...awqPaths.map((path) => {
      const { inFeatures, outFeatures } = linears.get(path)!;
      return (
        candidatesPerRun(inFeatures, outFeatures, alphas.length, candidateBytes) * inFeatures * outFeatures
      );
    }),
  );
  const workspace =
    awqPaths.length === 0
      ? undefined
      : {
          difference: compute.buffer(4 * candidateFloats, 'the AWQ candidate differences'),
          product: compute.buffer(4 * candidateFloats, 'the AWQ candidate products'),
        };
  const columnMean = (
    values: GPUBuffer,
    term: ColumnTerm,
    columns: number,
    firstRow: number,
    rows: number,
    result: GPUBuffer,
    resultOffset: number,
    maxima?: GPUBuffer,
  ) => {
    compute.dispatch(
      columnPartialSumsShader(columns, term),
      words([firstRow, rows]),
      [values, partial!, ...(maxima ? [maxima] : [])],
      columnPartialSumsWorkgroups(columns, rows),
    );
    compute.dispatch(
      columnMeanShader(columns),
      chunksUniform(columnChunks(rows), resultOffset, rows),
      [partial!, result],
      [columnMeanWorkgroups(columns)],
    );
  };
  // With `masked`, only the rows of `[*, columns]` values whose mask word is not 0 count.
  const absMax = (
    values: GPUBuffer,
    first: number,
    count: number,
    slot: number,
    masked?: { readonly columns: number; readonly mask: GPUBuffer },
  ) =>
    compute.dispatch(
      masked === undefined ? ABS_MAX_SHADER : maskedAbsMaxShader(masked.columns),
      words([first, count, slot]),
      masked === undefined ? [values, maxima] : [values, maxima, masked.mask],
      [absMaxWorkgroups(count)],
    );

  const arrive = (taken: readonly Returning[], values: readonly Float32Array[]) => {
    let at = 0;
    for (const entry of taken) {
      entry.arrived(values.slice(at, at + entry.regions.length));
      at += entry.regions.length;
    }
  };

  /**
   * Uploads a block's weights into the kept buffers and records its runs — the forward, the input
   * maxima, every AWQ linear's batch means, Gram matrix and weight statistic — without submitting.
   */
  const recordBlock = (layer: number): RecordedBlock => {
    const prefix = `transformer.h.${layer}`;
    const set = bufferSetOf(layer);
    const block = model.transformer.h[layer]!;
    const uploaded = new Map(
      BLOCK_LINEARS.map((name) => {
        const path = `${prefix}.${name}`;
        const upload = (data: Float32Array, what: string) =>
          keepWith(`${name} ${what} ${set}`, data, `${path} ${what}`);
        return [path, uploadLinear(upload, model.linear(path))];
      }),
    );
    for (const [path, { weight, inFeatures, outFeatures }] of uploaded) {
      const slot = weightSlots.get(path);
      if (slot !== undefined) absMax(weight, 0, inFeatures * outFeatures, slot);
    }
    const [attention, projection, expand, contract] = BLOCK_LINEARS.map(
      (name) => uploaded.get(`${prefix}.${name}`)!,
    ) as [UploadedLinear, UploadedLinear, UploadedLinear, UploadedLinear];
    // lm_head's input, ln_f's output, follows the last block.
    const final = layer === config.n_layer - 1 && tapped.has('lm_head');
    const norms = [block.ln_1, block.ln_2, ...(final ? [model.transformer.ln_f] : [])].map((norm, index) => {
      const what = `LayerNorm ${index + 1} of block ${layer}`;
      return {
        gamma: keepWith(`LayerNorm ${index + 1} weight`, norm.weight.data, `${what}: weight`),
        beta: keepWith(`LayerNorm ${index + 1} bias`, norm.bias.data, `${what}: bias`),
        epsilon: norm.epsilon,
      };
    });
    const blockAwq = awqPaths.filter((path) => layerOf(path) === layer);
    const nameOf = (path: string) => path.slice(prefix.length + 1);
    // Per AWQ linear: each batch's per-channel mean |x| [batches, in] and the Gram matrix [in, in].
    const means = new Map(
      blockAwq.map((path) => [
        path,
        keep(`${nameOf(path)} means`, batches.length * linears.get(path)!.inFeatures, `${path} means`),
      ]),
    );
    const grams = new Map(
      blockAwq.map((path) => {
        const { inFeatures } = linears.get(path)!;
        const gram = keep(
          `${nameOf(path)} Gram matrix ${set}`,
          inFeatures * inFeatures,
          `${path} Gram matrix`,
        );
        // The one buffer a block adds into: the sums of the block two before go first.
        compute.clear(gram);
        return [path, gram];
      }),
    );
    // W as [out, in]: the uploaded weight itself, or a Conv1D weight transposed on the device (and
    // read back, so the host never transposes it), or the host's [out, in] uploaded as well.
    const back: Returning[] = [];
    const transposed = new Map(
      [...uploaded]
        .filter(([, { conv1d }]) => conv1d !== undefined)
        .map(([path, { weight, inFeatures, outFeatures, conv1d }]) => {
          const rows = keep(
            `${nameOf(path)} [out, in] ${set}`,
            inFeatures * outFeatures,
            `${path} [out, in]`,
          );
          const shape = { rows: inFeatures, columns: outFeatures };
          compute.dispatch(
            transposeShader(shape),
            undefined,
            [weight, rows],
            elementWorkgroups(inFeatures * outFeatures, compute.limits.maxComputeWorkgroupsPerDimension),
          );
          const linear = linears.get(path);
          // Read back as it is unless AWQ's scale is applied to it first (and read back then).
          if (linear !== undefined && !(blockAwq.includes(path) && options.onAwqScale)) {
            back.push({
              regions: [{ buffer: rows, floats: inFeatures * outFeatures, into: conv1d! }],
              arrived: () => {
                linear.markTransposed();
                options.onWeightsDone?.(path);
              },
            });
          }
          return [path, rows];
        }),
    );
    const rowsWeights = new Map(
      blockAwq.map((path) => {
        const { layout, weight } = uploaded.get(path)!;
        if (layout === 'columns') return [path, weight];
        const rows =
          transposed.get(path) ??
          keepWith(`${nameOf(path)} [out, in] ${set}`, linears.get(path)!.weight.data, `${path} [out, in]`);
        return [path, rows];
      }),
    );
    // AWQ's weight statistic, from W as [out, in] (which the search reads too), ahead of the runs.
    const weightScales = new Map(
      blockAwq.map((path) => {
        const linear = linears.get(path)!;
        const shape = {
          outFeatures: linear.outFeatures,
          inFeatures: linear.inFeatures,
          blockSize: blockSizeOf(linear),
        };
        const name = nameOf(path);
        const maxima = keep(`${name} block maxima`, blockMaxWorkgroups(shape) * 128, `${path} block maxima`);
        const scale = keep(`${name} weight scale`, linear.inFeatures, `${path} weight scale`);
        const weight = rowsWeights.get(path)!;
        compute.dispatch(blockMaxShader(shape), undefined, [weight, maxima], [blockMaxWorkgroups(shape)]);
        columnMean(
          weight,
          { kind: 'abs-over-block-max', blockSize: shape.blockSize },
          linear.inFeatures,
          0,
          linear.outFeatures,
          scale,
          0,
          maxima,
        );
        return [path, scale];
      }),
    );
    const tap = (path: string, tapped: GPUBuffer, columns: number, run: Run) => {
      let slot = maxSlots.get(path);
      const mean = means.get(path);
      if (slot !== undefined && options.inputCalibrators.get(path)!.mergesBatches === true) {
        // One max over the run's real tokens, kept in the slot of its first batch.
        const masked = run.padded ? { columns, mask: run.mask } : undefined;
        absMax(tapped, 0, run.rows * columns, slot + run.batches[0]!.index, masked);
        slot = undefined;
      }
      if (slot === undefined && mean === undefined) return;
      for (const batch of run.batches) {
        const { index, realRows: rows } = batch;
        // A padded batch's real rows are gathered first: statistics cover real tokens only.
        let values = tapped;
        let firstRow = batch.firstRow;
        if (batch.realRowIndices !== undefined) {
          compute.dispatch(
            gatherRowsShader(columns),
            words([rows]),
            [batch.realRowIndices, tapped, compact!],
            rowWorkgroups(rows),
          );
          values = compact!;
          firstRow = 0;
        }
        if (slot !== undefined) absMax(values, firstRow * columns, rows * columns, slot + index);
        if (mean === undefined) continue;
        columnMean(values, { kind: 'abs' }, columns, firstRow, rows, mean, index * columns);
        const offset = firstRow * columns;
        product(
          compute,
          threads,
          'columns',
          'rows',
          'accumulate-divided',
          [values, values, grams.get(path)!],
          {
            m: columns,
            n: columns,
            k: rows,
            aOffset: offset,
            bOffset: offset,
            divisor: rows,
          },
          // Xᵀ·X is symmetric: the tiles above the diagonal, mirrored.
          true,
        );
      }
    };
    for (const run of runs) {
      const { rows } = run;
      const linear = (
        input: GPUBuffer,
        weights: UploadedLinear,
        output: GPUBuffer,
        epilogue: MatrixProductEpilogue,
      ) =>
        product(
          compute,
          threads,
          'rows',
          weights.layout,
          epilogue,
          [input, weights.weight, output, weights.bias],
          {
            m: rows,
            n: weights.outFeatures,
            k: weights.inFeatures,
          },
        );
      const layerNorm = (norm: (typeof norms)[number]) =>
        compute.dispatch(
          layerNormShader(width),
          rowsUniform(rows, norm.epsilon),
          [run.residual, normalized, norm.gamma, norm.beta],
          rowWorkgroups(rows),
        );
      layerNorm(norms[0]!);
      tap(`${prefix}.attn.c_attn`, normalized, width, run);
      linear(normalized, attention, qkv, 'bias');
      compute.dispatch(
        attentionShader({ heads, headSize: width / heads }),
        words([run.sequenceLength]),
        [qkv, attended, run.mask],
        attentionWorkgroups({ heads, headSize: width / heads }, run.sequenceLength, run.sequences),
      );
      tap(`${prefix}.attn.c_proj`, attended, width, run);
      linear(attended, projection, run.residual, 'bias-residual');
      layerNorm(norms[1]!);
      tap(`${prefix}.mlp.c_fc`, normalized, width, run);
      linear(normalized, expand, expanded, 'bias-gelu');
      tap(`${prefix}.mlp.c_proj`, expanded, inner, run);
      linear(expanded, contract, run.residual, 'bias-residual');
      if (final) {
        layerNorm(norms[2]!);
        tap('lm_head', normalized, width, run);
      }
    }
    return { blockAwq, means, grams, rowsWeights, weightScales, back };
  };

  /** A block whose runs are submitted, with the copies of its statistics and transposed weights. */
  interface StartedBlock extends RecordedBlock {
    /** The runs' submission. */
    readonly submitted: Promise<void>;
    /** Its statistics (each AWQ linear's batch means, then its weight statistic), then `back`. */
    readonly mapped: Promise<MappedRegions>;
    readonly statisticCount: number;
    readonly backCount: number;
  }
  const startBlock = (layer: number): StartedBlock => {
    const recorded = recordBlock(layer);
    const submitted = compute.flush();
    const statisticRegions: ReadRegion[] = recorded.blockAwq.flatMap((path) => {
      const { inFeatures } = linears.get(path)!;
      return [
        { buffer: recorded.means.get(path)!, floats: batches.length * inFeatures },
        { buffer: recorded.weightScales.get(path)!, floats: inFeatures },
      ];
    });
    const backRegions = regionsOf(recorded.back);
    const mapped = compute.mapMany([...statisticRegions, ...backRegions]);
    // Awaited in turn; a failure before that turn (calibration ends early) is reported once, there.
    submitted.catch(() => {});
    mapped.catch(() => {});
    return {
      ...recorded,
      submitted,
      mapped,
      statisticCount: statisticRegions.length,
      backCount: backRegions.length,
    };
  };
  // The runs go two blocks ahead of the searches: block L+2's runs queue behind block L's searches and
  // block L's scaling behind them, so the device works on while the host scores candidates and copies
  // weights out.
  const started: (StartedBlock | undefined)[] = [];
  const start = (layer: number): Promise<void> => {
    if (layer > lastLayer) return Promise.resolve();
    const block = startBlock(layer);
    started[layer] = block;
    return block.submitted;
  };
  start(0);
  start(1);
  /** The scaled weights of the block before, on their way back. */
  let scaledBack: { readonly taken: Returning[]; readonly mapped: Promise<MappedRegions> } | undefined;
  const scaledArrive = async () => {
    if (scaledBack === undefined) return;
    const { taken, mapped } = scaledBack;
    scaledBack = undefined;
    const values = (await mapped).take(0, regionsOf(taken).length);
    arrive(taken, values);
  };
  for (let layer = 0; layer <= lastLayer; layer++) {
    const block = started[layer]!;
    started[layer] = undefined;
    const { blockAwq, grams, rowsWeights, statisticCount, back, backCount } = block;
    const set = bufferSetOf(layer);
    const nameOf = (path: string) => path.slice(`transformer.h.${layer}.`.length);
    const mapped = await block.mapped;
    const statistics = mapped.take(0, statisticCount);
    const backArrive = () => arrive(back, mapped.take(statisticCount, statisticCount + backCount));
    for (let batch = 0; batch < batches.length; batch++) {
      options.onProgress?.({
        phase: 'calibrate-block',
        block: layer + 1,
        blocks: lastLayer + 1,
        batch: batch + 1,
        batches: batches.length,
        done: layer * batches.length + batch + 1,
        total: (lastLayer + 1) * batches.length,
      });
    }
    if (blockAwq.length === 0) {
      backArrive();
      await scaledArrive();
      await start(layer + 2);
      continue;
    }

    // The block's AWQ searches, every candidate's losses from its Gram matrix, in one submission.
    const searches: { path: string; scales: Float32Array[]; sums: GPUBuffer; rows: number }[] = [];
    for (const [index, path] of blockAwq.entries()) {
      const quantLinear = linears.get(path)!;
      const actScale = averageOfBatches(statistics[2 * index]!, batches.length, quantLinear.inFeatures);
      const weightScale = statistics[2 * index + 1]!;
      const scales = alphas.map((alpha) => awqScale(actScale, weightScale, alpha));
      const name = nameOf(path);
      const sums = searchLosses(compute, threads, {
        weight: rowsWeights.get(path)!,
        linear: quantLinear,
        gram: grams.get(path)!,
        scales,
        blockSize: blockSizeOf(quantLinear),
        workspace: workspace!,
        candidateBytes,
        upload: (key, data, what) => keepWith(`${name} ${key}`, data, `${path}: ${what}`),
        keep: (key, floats, what) => keep(`${name} ${key}`, floats, `${path}: ${what}`),
      });
      searches.push({ path, scales, sums, rows: scales.length * quantLinear.outFeatures });
    }
    // The searches and their sums' copy submitted, then the runs of the block two after, then — while
    // the device runs both — the weights that came back are copied out on the host.
    let searchesSubmitted!: (next: Promise<void>) => void;
    const nextSubmitted = new Promise<void>((resolve) => {
      searchesSubmitted = resolve;
    });
    const rowSumsRead = compute.readMany(
      searches.map(({ sums, rows }) => ({ buffer: sums, floats: rows })),
      () => searchesSubmitted(start(layer + 2)),
    );
    // A read that fails before it submits anything rejects here instead of leaving this waiting.
    await Promise.race([nextSubmitted, rowSumsRead]);
    await nextSubmitted;
    backArrive();
    await scaledArrive();
    const allRowSums = await rowSumsRead;
    const scaled: Returning[] = [];
    for (const [index, { path, scales }] of searches.entries()) {
      const rowSums = allRowSums[index]!;
      const linear = linears.get(path)!;
      const out = linear.outFeatures;
      const losses = scales.map((_, candidate) => {
        let sum = 0;
        for (let row = 0; row < out; row++) sum += rowSums[candidate * out + row]!;
        return Math.fround(sum / out);
      });
      const best = leastLossIndex(losses);
      awq.set(path, { alpha: alphas[best]!, losses });
      awqScales.set(path, scales[best]!);
      options.onProgress?.({
        phase: 'awq-search',
        linear: path,
        index: ++searched,
        total: awqPaths.length,
        alpha: alphas[best]!,
        lossForm: 'gram',
      });
      if (options.onAwqScale === undefined) continue;
      // The chosen scale applied where the weight is, W ← W·diag(s), and its block amax: copied out
      // while the device runs the next block's searches, instead of a pass over the weight on the host.
      const name = nameOf(path);
      const shape = { outFeatures: out, inFeatures: linear.inFeatures, blockSize: blockSizeOf(linear) };
      const weight = rowsWeights.get(path)!;
      const scale = keepWith(`${name} chosen scale ${set}`, scales[best]!, `${path}: the chosen AWQ scale`);
      const blockAmax = keep(
        `${name} scaled block maxima ${set}`,
        out * Math.ceil(shape.inFeatures / shape.blockSize),
        `${path}: the scaled weight's block maxima`,
      );
      compute.dispatch(
        scaleColumnsShader(shape),
        undefined,
        [weight, scale],
        elementWorkgroups(out * shape.inFeatures, compute.limits.maxComputeWorkgroupsPerDimension),
      );
      compute.dispatch(blockMaxShader(shape), undefined, [weight, blockAmax], [blockMaxWorkgroups(shape)]);
      const floats = out * shape.inFeatures;
      const chosen = scales[best]!;
      // A Conv1D weight not yet transposed on the host takes its [out, in] back in its own array.
      const into =
        linear.conv1dWeight() ?? (linear.ownsWeight ? linear.weight.data : new Float32Array(floats));
      scaled.push({
        regions: [
          { buffer: weight, floats, into },
          { buffer: blockAmax, floats: out * Math.ceil(shape.inFeatures / shape.blockSize) },
        ],
        arrived: ([scaledWeight, amax]) => {
          linear.markTransposed();
          options.onAwqScale?.(path, chosen, {
            weight: scaledWeight!,
            blockSize: shape.blockSize,
            blockAmax: amax!,
          });
          options.onWeightsDone?.(path);
        },
      });
    }
    if (scaled.length > 0) {
      const mappedScaled = compute.mapMany(regionsOf(scaled));
      mappedScaled.catch(() => {});
      scaledBack = { taken: scaled, mapped: mappedScaled };
    }
  }

  const maxRegion = { buffer: maxima, floats: maximaFloats };
  const maximaReading = compute.readMany([maxRegion]);
  maximaReading.catch(() => {});
  await scaledArrive();
  const [maximaRead] = await maximaReading;
  const maxBits = new Uint32Array(maximaRead!.buffer);
  const asFloat = new Float32Array(maxBits.buffer);
  for (const [path, calibrator] of options.inputCalibrators) {
    const slot = maxSlots.get(path)!;
    for (const run of runs) {
      if (calibrator.mergesBatches === true) {
        const tokenCount = run.batches.reduce((sum, batch) => sum + batch.realRows, 0);
        calibrator.observe({ tokenCount, absMax: asFloat[slot + run.batches[0]!.index]! });
        continue;
      }
      for (const { index, realRows } of run.batches) {
        calibrator.observe({ tokenCount: realRows, absMax: asFloat[slot + index]! });
      }
    }
  }
  const inputAmax = new Map(
    [...options.inputCalibrators].map(([path, calibrator]) => [path, inputAmaxTensor(path, calibrator)]),
  );
  const ordered = new Map(awqPaths.filter((path) => awq.has(path)).map((path) => [path, awq.get(path)!]));
  const weightMaxima = new Map([...weightSlots].map(([path, slot]) => [path, asFloat[slot]!]));
  return { inputAmax, awq: ordered, awqScales, weightMaxima };
}

/**
 * Rows a run may take: MAX_RUN_ROWS, or fewer where the largest activation of a run (the MLP's
 * `[rows, inner]`) would not fit one of the adapter's storage bindings.
 */
function maxRunRows(compute: DawnCompute, model: GPT2LMHeadModel): number {
  const widest = Math.max(3 * model.config.n_embd, model.linear('transformer.h.0.mlp.c_fc').outFeatures);
  return Math.min(MAX_RUN_ROWS, Math.floor(bindingLimit(compute) / (4 * widest)));
}

function bindingLimit(compute: DawnCompute): number {
  return Math.min(compute.limits.maxBufferSize, compute.limits.maxStorageBufferBindingSize);
}

interface RunPlan {
  /** Rows a run may take. */
  readonly maxRows: number;
  /**
   * Whether every statistic is a max, which ignores how tokens group: batches of any length then
   * share a run, sorted longest first and padded at the end of each sequence to the run's longest
   * (causal attention never reads a later position, so a token's activations are those of its batch
   * alone), and no batch's real rows are gathered for statistics of the batch alone.
   */
  readonly maximaOnly: boolean;
}

/**
 * Batches grouped into runs of at most `maxRows` rows — consecutive batches of one sequence length,
 * or with `maximaOnly` batches of any length — each run embedded into a residual buffer. A batch
 * larger than `maxRows` on its own is refused (`DeviceUnavailableError`) before anything runs.
 */
function planRuns(
  compute: DawnCompute,
  model: GPT2LMHeadModel,
  batches: readonly RecordedBatch[],
  { maxRows, maximaOnly }: RunPlan,
): Run[] {
  for (const [index, batch] of batches.entries()) {
    if (batch.attentionMask.data.length > maxRows) {
      throw new DeviceUnavailableError(
        'kernels',
        `batch ${index + 1} has ${batch.attentionMask.data.length} tokens; this adapter's storage bindings hold the activations of at most ${maxRows}`,
      );
    }
  }
  const width = model.config.n_embd;
  const shapeOf = (index: number) => {
    const [sequences = 0, sequenceLength = 0] = batches[index]!.inputIds.shape;
    return { sequences, sequenceLength };
  };
  const order = batches.map((_, index) => index);
  if (maximaOnly) order.sort((a, b) => shapeOf(b).sequenceLength - shapeOf(a).sequenceLength || a - b);
  const groups: { indices: number[]; sequenceLength: number; sequences: number }[] = [];
  for (const index of order) {
    const { sequences, sequenceLength } = shapeOf(index);
    const last = groups.at(-1);
    const fits =
      last !== undefined &&
      (last.sequenceLength === sequenceLength || (maximaOnly && sequenceLength < last.sequenceLength)) &&
      (last.sequences + sequences) * last.sequenceLength <= maxRows;
    if (fits) {
      last.indices.push(index);
      last.sequences += sequences;
    } else {
      groups.push({ indices: [index], sequenceLength, sequences });
    }
  }
  return groups.map(({ indices, sequenceLength, sequences }) => {
    const rows = sequences * sequenceLength;
    const residual = compute.buffer(4 * rows * width, 'the hidden states');
    const mask = new Uint32Array(rows);
    const runBatches: RunBatch[] = [];
    let firstRow = 0;
    for (const index of indices) {
      const batch = batches[index]!;
      const { sequences: batchSequences, sequenceLength: length } = shapeOf(index);
      // Sequence s of the batch starts at run row firstRow + s·sequenceLength.
      const rowOf = (at: number) => firstRow + Math.floor(at / length) * sequenceLength + (at % length);
      // The first block's input, as the graph forms it: token plus position embedding, in float32,
      // computed straight into the staging memory of the upload.
      for (let sequence = 0; sequence < batchSequences; sequence++) {
        compute.writeWith(residual, 4 * rowOf(sequence * length) * width, length * width, (target) =>
          embedRowSumInto(model.transformer, batch.inputIds, batch.attentionMask, sequence, target),
        );
      }
      const real = Uint32Array.from(batch.realTokenIndices, rowOf);
      for (const row of real) mask[row] = 1;
      const padded = real.length !== batchSequences * sequenceLength;
      runBatches.push({
        index,
        firstRow,
        realRows: real.length,
        ...(padded && !maximaOnly
          ? { realRowIndices: compute.upload(real, 'the real tokens of a padded batch') }
          : {}),
      });
      firstRow += batchSequences * sequenceLength;
    }
    return {
      batches: runBatches,
      sequenceLength,
      sequences,
      rows,
      residual,
      mask: compute.upload(mask, 'the attention mask'),
      padded: mask.includes(0),
    };
  });
}

function uploadLinear(
  upload: (data: Float32Array, what: string) => GPUBuffer,
  linear: GraphLinear,
): UploadedLinear {
  // A Conv1D weight still in its own layout goes up as it is, `[in, out]`: the product's B as rows.
  const conv1d =
    linear instanceof QuantLinear && linear.weight_quantizer.amax === undefined
      ? linear.conv1dWeight()
      : undefined;
  const rows = conv1d === undefined ? linear.graphWeightRows?.() : undefined;
  const weight = upload(conv1d ?? (rows ?? linear.graphWeight()).data, 'weight');
  return {
    weight,
    layout: rows === undefined ? 'rows' : 'columns',
    ...(conv1d === undefined ? {} : { conv1d }),
    bias: upload(linear.bias?.data ?? new Float32Array(linear.outFeatures), 'bias'),
    inFeatures: linear.inFeatures,
    outFeatures: linear.outFeatures,
  };
}

/** Candidates whose differences `[count, out, in]` fit `bytes` (at least one). */
function candidatesPerRun(
  inFeatures: number,
  outFeatures: number,
  candidates: number,
  bytes: number,
): number {
  return Math.min(candidates, Math.max(1, Math.floor(bytes / (4 * outFeatures * inFeatures))));
}

function blockSizeOf(linear: QuantLinear): number {
  return linear.weight_quantizer.blockSize ?? 128;
}

interface SearchBuffers {
  /** W as `[out, in]`. */
  readonly weight: GPUBuffer;
  readonly linear: QuantLinear;
  readonly gram: GPUBuffer;
  readonly scales: readonly Float32Array[];
  readonly blockSize: number;
  /** Buffers of `candidatesPerRun` candidates' differences and their products with H. */
  readonly workspace: { readonly difference: GPUBuffer; readonly product: GPUBuffer };
  /** Bytes of one run of candidates' differences. */
  readonly candidateBytes: number;
  /** `data` in a buffer kept under `key` for the same linear of the next block. */
  readonly upload: (key: string, data: Float32Array, what: string) => GPUBuffer;
  /** A buffer of `floats` kept under `key` likewise. */
  readonly keep: (key: string, floats: number, what: string) => GPUBuffer;
}

/**
 * Records the losses' row sums of every candidate: `D = Q(W·diag(s))·diag(1/s) − W`, `E = D·H`, and
 * per row of D `E[o]·D[o]`, into a buffer `[candidates·out]`, a run of candidates at a time.
 */
function searchLosses(compute: DawnCompute, threads: 128 | 256, buffers: SearchBuffers): GPUBuffer {
  const { weight, linear, scales, workspace } = buffers;
  const { inFeatures, outFeatures } = linear;
  const sums = buffers.keep('loss row sums', scales.length * outFeatures, 'the AWQ loss row sums');
  const perRun = candidatesPerRun(inFeatures, outFeatures, scales.length, buffers.candidateBytes);
  const shape = { outFeatures, inFeatures, blockSize: buffers.blockSize };
  for (let first = 0; first < scales.length; first += perRun) {
    const count = Math.min(perRun, scales.length - first);
    const s = new Float32Array(count * inFeatures);
    const inverse = new Float32Array(count * inFeatures);
    for (let candidate = 0; candidate < count; candidate++) {
      const scale = scales[first + candidate]!;
      s.set(scale, candidate * inFeatures);
      for (let channel = 0; channel < inFeatures; channel++) {
        inverse[candidate * inFeatures + channel] = Math.fround(1 / scale[channel]!);
      }
    }
    compute.dispatch(
      candidateDifferenceShader(shape),
      words([count]),
      [
        weight,
        buffers.upload(`scales ${first}`, s, 'the AWQ scales'),
        buffers.upload(`inverse scales ${first}`, inverse, 'the AWQ inverse scales'),
        workspace.difference,
      ],
      [candidateDifferenceWorkgroups(shape, count)],
    );
    product(
      compute,
      threads,
      'rows',
      'rows',
      'store',
      [workspace.difference, buffers.gram, workspace.product],
      {
        m: count * outFeatures,
        n: inFeatures,
        k: inFeatures,
      },
    );
    compute.dispatch(
      rowDotShader(inFeatures),
      words([count * outFeatures, first * outFeatures]),
      [workspace.product, workspace.difference, sums],
      rowWorkgroups(count * outFeatures),
    );
  }
  return sums;
}

function product(
  compute: DawnCompute,
  threads: 128 | 256,
  a: OperandLayout,
  b: OperandLayout,
  epilogue: MatrixProductEpilogue,
  buffers: readonly GPUBuffer[],
  sizes: { m: number; n: number; k: number; aOffset?: number; bOffset?: number; divisor?: number },
  symmetric = false,
): void {
  const bound = epilogue.startsWith('bias') ? buffers : buffers.slice(0, 3);
  compute.dispatch(
    matrixProductShader({ a, b, epilogue, threads, symmetric }),
    matrixProductSizes(sizes),
    bound,
    matrixProductWorkgroups(threads, sizes.m, sizes.n),
  );
}

/** AWQ-lite's act_scale from the batches' means `[batches, channels]`, added in batch order. */
function averageOfBatches(means: Float32Array, batches: number, channels: number): Float32Array {
  const sum = new Float32Array(channels);
  for (let batch = 0; batch < batches; batch++) addBatchMean(sum, means, batch * channels);
  return actScaleOf(sum, batches);
}

function words(values: readonly number[]): ArrayBuffer {
  return Uint32Array.from(values).buffer;
}

function chunksUniform(chunks: number, resultOffset: number, divisor: number): ArrayBuffer {
  const buffer = new ArrayBuffer(12);
  new Uint32Array(buffer, 0, 2).set([chunks, resultOffset]);
  new Float32Array(buffer, 8, 1)[0] = divisor;
  return buffer;
}

function rowsUniform(rows: number, epsilon: number): ArrayBuffer {
  const buffer = new ArrayBuffer(8);
  new Uint32Array(buffer, 0, 1)[0] = rows;
  new Float32Array(buffer, 4, 1)[0] = epsilon;
  return buffer;
}

function checkWorkgroupMemory(compute: DawnCompute, what: string, bytes: number): void {
  const limit = compute.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) {
    throw new InvalidArgumentError(
      'calibration',
      `${what} needs ${bytes} bytes of workgroup memory, over the adapter's ${limit}`,
    );
  }
}
