import { InvalidArgumentError } from '@ptq/errors';
import { fromOrtTensor, type ResolvedDevice } from '@ptq/onnx';
import type { Tensor } from '@ptq/tensor';
import { type InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { GPTConfig } from '../config';
import {
  buildSegmentGraph,
  SEGMENT_BRANCH,
  SEGMENT_BRANCH_OUT,
  SEGMENT_LOG_PROBABILITIES,
  SEGMENT_RESIDUAL,
  SEGMENT_RESIDUAL_OUT,
  SEGMENT_TARGETS,
  type SegmentGraphOptions,
} from '../graph/build-segment-graph';
import { INPUT_IDS } from '../graph/graph-io';
import { resolveWeightFormat, type WeightFormat } from '../graph/weight-format';
import type { GPT } from '../modules/gpt';
import { type LayerRange, loadGptSegment } from '../modules/gpt-segment';
import { checkVocabulary } from './batch-inputs';
import { mergeSessionOptions, openGraphSession, sessionOptionsFor } from './compile';
import { emptyLayers, withPasts } from './session-tensors';
import type { RuntimeWindowScorer } from './window-scorer';

/** A model handed out a few blocks at a time, so that no more than one segment's weights are held. */
export interface GPTSegments {
  readonly config: GPTConfig;
  /**
   * A GPT of `end − start` blocks holding the model's blocks `[start, end)`, with the embeddings when
   * `start` is 0 and `ln_f` and the head when `end` is the last (see `loadGptSegment`). Asked once
   * per segment, in order; dropped once its graph is built.
   */
  segment(layers: LayerRange): GPT | Promise<GPT>;
}

/** Segments of a model already held whole (sharing its tensors). */
export function segmentsOf(gpt: GPT): GPTSegments {
  return {
    config: gpt.config,
    segment: (layers) => loadGptSegment(gpt.config, layers, gpt.stateDict()),
  };
}

/** One perplexity window: `log p(next[p] | ids[0..p])` is scored at every position p. */
export interface ScoredWindow {
  readonly ids: BigInt64Array;
  readonly next: BigInt64Array;
}

export interface SegmentedScoringOptions {
  readonly device: ResolvedDevice;
  /**
   * Float weight bytes a segment may hold, its blocks counted at the model's dtype (default 128 MiB;
   * a segment holds one block at least). A model that fits runs as one segment, the whole graph.
   */
  readonly segmentBytes?: number;
  /**
   * Initializer bytes over which a segment reaches onnxruntime through a temporary file with
   * external data rather than serialized bytes, so its weights are not held twice while its session
   * is made (default 32 MiB; see `toSessionModel`). A small model's one segment stays in memory.
   */
  readonly externalDataAbove?: number;
  /** Storage of quantized weights; the default depends on the mode and device (see `defaultWeightFormat`). */
  readonly weightFormat?: WeightFormat;
  /** As `CompileOptions.foldPreQuantScale` (default true). */
  readonly foldPreQuantScale?: boolean;
  readonly onNotice?: (message: string) => void;
  /** Merged into the session options ptq sets, as `CompileOptions.sessionOptions`. */
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /** After each window of each segment, with the count done of segments × windows. */
  readonly onStep?: (done: number, total: number) => void;
}

export const DEFAULT_SEGMENT_BYTES = 128 * 2 ** 20;

export const DEFAULT_SEGMENT_EXTERNAL_DATA_ABOVE = 32 * 2 ** 20;

/** The segments `scoreWindowsBySegments` runs: as many whole blocks as `segmentBytes` holds, in order. */
export function segmentRanges(config: GPTConfig, segmentBytes = DEFAULT_SEGMENT_BYTES): LayerRange[] {
  if (!(segmentBytes > 0)) {
    throw new InvalidArgumentError('segmentBytes', `must be a positive number, got ${String(segmentBytes)}`);
  }
  const { numLayers, embeddingSize, dtype } = config;
  // c_attn 3·C², attn.c_proj C², c_fc and mlp.c_proj 4·C² each.
  const blockBytes = 12 * embeddingSize * embeddingSize * (dtype === 'float16' ? 2 : 4);
  const perSegment = Math.max(1, Math.floor(segmentBytes / blockBytes));
  const ranges: LayerRange[] = [];
  for (let start = 0; start < numLayers; start += perSegment) {
    ranges.push({ start, end: Math.min(start + perSegment, numLayers) });
  }
  return ranges;
}

/**
 * The target log-probabilities of every window, `log p(next[p] | ids[0..p])` per position, from the
 * graph `compile` runs for one row (fused operators, single row, empty cache), but built and run one
 * segment of blocks at a time (`buildSegmentGraph`): each segment's session runs every window, its
 * stream kept on the host for the next, and is released before the next segment is asked for. At
 * most one segment's weights (and their session) are held at once, where `compile` holds the whole
 * model's; the results are the whole graph's bit for bit. The last segment scores the targets
 * itself, so no logits leave its session.
 */
export async function scoreWindowsBySegments(
  source: GPTSegments,
  windows: readonly ScoredWindow[],
  options: SegmentedScoringOptions,
): Promise<Float32Array[]> {
  const { config } = source;
  const { device } = options;
  const ranges = segmentRanges(config, options.segmentBytes);
  const weightFormat = resolveWeightFormat(config.quantMode, device, options.weightFormat);
  for (const [index, window] of windows.entries()) checkWindow(window, index, config);
  const results: Float32Array[] = [];
  // Each window's stream out of the last segment (held on the host; a window's is dropped once used).
  let streams: Array<{ branch: OrtTensor; residual: OrtTensor } | undefined> = [];
  let incomingBias: Tensor | undefined;
  const total = ranges.length * windows.length;
  let done = 0;
  for (const layers of ranges) {
    const first = layers.start === 0;
    const last = layers.end === config.numLayers;
    const opened = await openSegment(source, layers, { first, last, incomingBias, weightFormat }, options);
    const { session, blocks } = opened;
    incomingBias = opened.outgoingBias;
    try {
      const next: typeof streams = [];
      for (const [index, window] of windows.entries()) {
        const feeds: Record<string, OrtTensor> = first
          ? { [INPUT_IDS]: new OrtTensor('int64', window.ids, [1, window.ids.length]) }
          : { [SEGMENT_BRANCH]: streams[index]!.branch, [SEGMENT_RESIDUAL]: streams[index]!.residual };
        if (last) feeds[SEGMENT_TARGETS] = new OrtTensor('int64', window.next, [1, window.next.length]);
        const outputs = await session.run(
          withPasts(feeds, emptyLayers(blocks, 1), emptyLayers(blocks, 1), blocks.numLayers),
        );
        if (last) {
          const scored = fromOrtTensor(outputs[SEGMENT_LOG_PROBABILITIES] as OrtTensor) as Tensor<'float32'>;
          results.push(scored.data);
        } else {
          next.push({
            branch: outputs[SEGMENT_BRANCH_OUT] as OrtTensor,
            residual: outputs[SEGMENT_RESIDUAL_OUT] as OrtTensor,
          });
        }
        streams[index] = undefined;
        done += 1;
        options.onStep?.(done, total);
      }
      streams = next;
    } finally {
      await session.release();
    }
  }
  return results;
}

/** A window scorer (`@ptq/hf-gpt2`'s `perplexity`) that scores every window at once by segments. */
export function segmentedWindowScorer(
  source: GPTSegments,
  options: SegmentedScoringOptions,
): RuntimeWindowScorer & {
  logProbabilitiesOfWindows(
    windows: readonly ScoredWindow[],
    onStep?: (done: number, total: number) => void,
  ): Promise<Float32Array[]>;
} {
  return {
    contextSize: source.config.blockSize,
    async logProbabilities(ids, next) {
      const [scored] = await scoreWindowsBySegments(source, [{ ids, next }], options);
      return scored!;
    },
    logProbabilitiesOfWindows: (windows, onStep) =>
      scoreWindowsBySegments(source, windows, { ...options, onStep: onStep ?? options.onStep }),
  };
}

/**
 * The session of one segment, and what the next needs from it. The segment's model and graph are
 * dropped when this returns, so their weights can go while the session runs.
 */
async function openSegment(
  source: GPTSegments,
  layers: LayerRange,
  graph: Pick<SegmentGraphOptions, 'first' | 'last' | 'incomingBias' | 'weightFormat'>,
  options: SegmentedScoringOptions,
): Promise<{ session: InferenceSession; blocks: GPTConfig; outgoingBias: Tensor | undefined }> {
  const { device } = options;
  const segment = await source.segment(layers);
  const definition = buildSegmentGraph(segment, {
    ...graph,
    foldPreQuantScale: options.foldPreQuantScale,
    splitLongProducts: device === 'webgpu',
  });
  const handle = await openGraphSession(definition, device, {
    onNotice: options.onNotice,
    externalDataAbove: options.externalDataAbove ?? DEFAULT_SEGMENT_EXTERNAL_DATA_ABOVE,
    sessionOptions: mergeSessionOptions(
      sessionOptionsFor(segment.config.quantMode, device, graph.weightFormat, definition),
      options.sessionOptions,
    ),
  });
  return {
    session: handle.session,
    blocks: segment.config,
    outgoingBias: segment.transformer.h.at(-1)!.mlp.c_proj.bias,
  };
}

function checkWindow(window: ScoredWindow, index: number, config: GPTConfig): void {
  const { ids, next } = window;
  if (!(ids instanceof BigInt64Array) || !(next instanceof BigInt64Array) || ids.length !== next.length) {
    throw new InvalidArgumentError(
      `windows[${index}]`,
      'must hold ids and next as BigInt64Arrays of one length',
    );
  }
  if (ids.length < 1 || ids.length > config.blockSize) {
    throw new InvalidArgumentError(
      `windows[${index}]`,
      `must hold 1 to blockSize ${config.blockSize} tokens, got ${ids.length}`,
    );
  }
  checkVocabulary(`windows[${index}].ids`, ids, ids.length, config.vocabSize);
  checkVocabulary(`windows[${index}].next`, next, next.length, config.vocabSize);
}
