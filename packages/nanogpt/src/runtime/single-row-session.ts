import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { GPTConfig } from '../config';
import { INPUT_IDS, LOGITS, NEXT_TOKEN, NUM_LOGITS_TO_KEEP } from '../graph/graph-io';
import { type BatchInputs, withoutRowPadding } from './batch-inputs';
import type { SessionLayout } from './session-layout';
import { emptyLayers, int64Matrix, logitsToKeepTensor, presentsOf, withPasts } from './session-tensors';

export interface SingleRowSessionInit {
  readonly session: InferenceSession;
  readonly config: GPTConfig;
  /**
   * The values of `[1, 1]` token tensors, in order, each chunk of `slots` read at once (see
   * `CompiledGPT`, which owns the device reader).
   */
  readonly readTokens: (tokens: readonly OrtTensor[], slots: number) => Promise<number[]>;
}

/**
 * A single-row graph (`buildGptGraph`'s `singleRow`): one row without padding, whose only host
 * inputs are `input_ids` and `num_logits_to_keep`, so a masked position is dropped before a run;
 * when it also outputs its greedy token, a greedy loop runs on the device (`greedyChunks`).
 */
export class SingleRowSession implements SessionLayout {
  readonly choosesTokens: boolean;
  readonly #init: SingleRowSessionInit;

  constructor(init: SingleRowSessionInit) {
    this.#init = init;
    this.choosesTokens = init.session.outputNames.includes(NEXT_TOKEN);
  }

  withoutPadding(batch: BatchInputs): BatchInputs {
    return withoutRowPadding(batch);
  }

  /** The head can run on the last position alone when it is a real token (a masked one has zero logits). */
  computesLastAlone(padded: BatchInputs): boolean {
    return padded.mask[0]!.at(-1) === 1;
  }

  hostFeeds(
    ids: BigInt64Array,
    mask: readonly (readonly number[])[],
    sequence: number,
    _positions: BigInt64Array | undefined,
    logitsToKeep: number,
  ): Record<string, OrtTensor> {
    // Every tensor is a host-to-device copy on a GPU: positions follow the cache, so none go in.
    return {
      [INPUT_IDS]: int64Matrix(ids, mask.length, sequence),
      [NUM_LOGITS_TO_KEEP]: logitsToKeepTensor(logitsToKeep),
    };
  }

  /**
   * The greedy loop of `CompiledGPT.greedyChunks` on a checked prompt row (the graph must choose
   * tokens): each step feeds the previous step's `next_token` straight back as `input_ids`; the
   * prefill's token comes back alone, then `tokensPerRead` at a time. Every tensor is freed when
   * the loop ends or is stopped.
   */
  async *greedyChunks(
    prompt: BatchInputs,
    maxNewTokens: number,
    tokensPerRead: number,
  ): AsyncGenerator<number[], void, undefined> {
    const { session, config, readTokens } = this.#init;
    const { numLayers } = config;
    let keys = emptyLayers(config, 1);
    let values = emptyLayers(config, 1);
    let input = int64Matrix(prompt.ids, 1, prompt.sequence);
    // One position gets logits, so next_token is [1, 1]: the prompt's last, then each new one.
    const keepLast = logitsToKeepTensor(1);
    /** Chosen tokens not read yet, oldest first; the newest is also the next step's input. */
    let unread: OrtTensor[] = [];
    /** The current input was read already, so it is freed once the step that feeds it has run. */
    let inputRead = false;
    let chunk = 1;
    try {
      for (let produced = 0; produced < maxNewTokens; ) {
        const outputs = await session.run(
          withPasts({ [INPUT_IDS]: input, [NUM_LOGITS_TO_KEEP]: keepLast }, keys, values, numLayers),
        );
        if (inputRead) input.dispose();
        for (const tensor of [...keys, ...values]) tensor.dispose();
        [keys, values] = presentsOf(outputs, numLayers);
        (outputs[LOGITS] as OrtTensor).dispose();
        input = outputs[NEXT_TOKEN] as OrtTensor;
        inputRead = false;
        unread.push(input);
        produced += 1;
        if (unread.length === chunk || produced === maxNewTokens) {
          const tokens = await readTokens(unread, chunk);
          for (const tensor of unread) {
            if (tensor === input) inputRead = true;
            else tensor.dispose();
          }
          unread = [];
          chunk = tokensPerRead;
          yield tokens;
        }
      }
    } finally {
      for (const tensor of new Set([...keys, ...values, ...unread, input])) tensor.dispose();
    }
  }
}
