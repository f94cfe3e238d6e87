import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { createSession, type ResolvedDevice } from './create-session';
import { DTYPE_BY_ORT_TENSOR_TYPE } from './ort-tensor-types';

/** Most tensors one read concatenates (a bound on the graphs made; callers read in chunks). */
export const MAX_READ_TENSORS = 1024;

/**
 * Copies tensors that live on a device (onnxruntime-node `gpu-buffer` outputs, whose data Node
 * cannot read) to the host, through small sessions on the same device: the tensors are
 * concatenated there, so any number of them costs one transfer, and one transfer is what waits for
 * the device. Sessions are made once per dtype, rank, count and axis. On the CPU provider the same
 * code runs on host tensors.
 */
export class DeviceTensorReader {
  readonly device: ResolvedDevice;
  readonly #sessions = new Map<string, Promise<InferenceSession>>();
  #released = false;

  constructor(device: ResolvedDevice) {
    this.device = device;
  }

  /**
   * One host tensor: `tensors` (same dtype and rank, equal but for `axis`) joined along `axis`.
   * The inputs are not disposed.
   */
  async read(tensors: readonly OrtTensor[], axis = 0): Promise<OrtTensor> {
    if (this.#released) throw new InvalidArgumentError('reader', 'has been released');
    const first = tensors[0];
    if (first === undefined || tensors.length > MAX_READ_TENSORS) {
      throw new InvalidArgumentError(
        'tensors',
        `must hold 1 to ${MAX_READ_TENSORS} tensors, got ${tensors.length}`,
      );
    }
    const rank = first.dims.length;
    if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(rank, 1)) {
      throw new InvalidArgumentError(
        'axis',
        `must be an integer in [0, ${Math.max(rank - 1, 0)}], got ${axis}`,
      );
    }
    for (const [index, tensor] of tensors.entries()) {
      if (tensor.type !== first.type || tensor.dims.length !== rank) {
        throw new InvalidArgumentError(
          'tensors',
          `tensor ${index} is ${tensor.type} of rank ${tensor.dims.length}; tensor 0 is ${first.type} of rank ${rank}`,
        );
      }
    }
    const session = await this.#session(first.type, rank, tensors.length, axis);
    const feeds: Record<string, OrtTensor> = {};
    tensors.forEach((tensor, index) => {
      feeds[inputName(index)] = tensor;
    });
    const outputs = await session.run(feeds);
    return outputs[OUTPUT] as OrtTensor;
  }

  /** Frees the sessions. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const sessions = await Promise.all(this.#sessions.values());
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.release()));
  }

  #session(type: OrtTensor.Type, rank: number, count: number, axis: number): Promise<InferenceSession> {
    const key = `${type}:${rank}:${count}:${axis}`;
    let session = this.#sessions.get(key);
    if (session === undefined) {
      session = createSession(concatenationModel(type, rank, count, axis), { device: this.device }).then(
        (handle) => handle.session,
      );
      this.#sessions.set(key, session);
    }
    return session;
  }
}

const OUTPUT = 'joined';

function inputName(index: number): string {
  return `tensor_${index}`;
}

function concatenationModel(type: OrtTensor.Type, rank: number, count: number, axis: number): Uint8Array {
  const dtype = DTYPE_BY_ORT_TENSOR_TYPE[type];
  if (dtype === undefined) {
    throw new InvalidArgumentError('tensors', `onnxruntime type "${type}" cannot be read back`);
  }
  const builder = new GraphBuilder({ name: 'read' });
  const inputs = Array.from({ length: count }, (_, index) =>
    builder.input(
      inputName(index),
      dtype,
      Array.from({ length: rank }, (_, dimension) => `d${index}_${dimension}`),
    ),
  );
  const named = { outputNames: [OUTPUT] };
  const joined =
    count === 1
      ? builder.node('Identity', inputs, {}, named)
      : builder.node('Concat', inputs, { axis }, named);
  builder.output(
    joined,
    OUTPUT,
    dtype,
    Array.from({ length: rank }, (_, dimension) => `joined_${dimension}`),
  );
  return serializeModel(builder.build());
}
