import { createSession, type ResolvedDevice } from '@ptq/onnx';
import { appendTargetLogProbabilities, GraphBuilder, serializeModel } from '@ptq/onnx-format';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';

const LOGITS = 'logits';
const TARGETS = 'targets';
const OUTPUT = 'target_log_probabilities';

/**
 * A one-graph session that turns float32 logits `[batch, sequence, vocab]` and int64 targets
 * `[batch, sequence]` into `log softmax(logits)[target]`, `[batch, sequence]`, on the device the
 * logits already live on: on WebGPU the logits never come back to the host, only one float per
 * position (`@ptq/onnx`'s `appendTargetLogProbabilities`).
 */
export class TargetScorer {
  readonly device: ResolvedDevice;
  #session: Promise<InferenceSession> | undefined;

  constructor(device: ResolvedDevice) {
    this.device = device;
  }

  /** The log-probabilities as a host tensor; the inputs are not disposed. */
  async score(logits: OrtTensor, targets: OrtTensor): Promise<OrtTensor> {
    this.#session ??= createSession(scorerModel(), { device: this.device }).then((handle) => handle.session);
    const outputs = await (await this.#session).run({ [LOGITS]: logits, [TARGETS]: targets });
    return outputs[OUTPUT] as OrtTensor;
  }

  async release(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) await (await session).release();
  }
}

function scorerModel(): Uint8Array {
  const builder = new GraphBuilder({ name: 'target-scorer' });
  const logits = builder.input(LOGITS, 'float32', ['batch', 'sequence', 'vocab']);
  const targets = builder.input(TARGETS, 'int64', ['batch', 'sequence']);
  builder.output(appendTargetLogProbabilities(builder, logits, targets), OUTPUT, 'float32', [
    'batch',
    'sequence',
  ]);
  return serializeModel(builder.build());
}
