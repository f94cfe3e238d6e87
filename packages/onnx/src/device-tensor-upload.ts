import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import type { Tensor } from '@ptq/tensor';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { createSession, type ResolvedDevice } from './create-session';
import { toOrtTensor } from './ort-tensor';

/** Most tensors one upload takes (a bound on the graph made; callers upload in chunks). */
export const MAX_UPLOAD_TENSORS = 1024;

/**
 * Host float32 tensors copied once into buffers of a device (onnxruntime-node `gpu-buffer` tensors),
 * through one session of Identity nodes on that device: sessions then take them as inputs run after
 * run without copying them again. The tensors live as long as the upload's session: `release` frees
 * both. On the CPU provider nothing is copied: the host tensors are fed as they are.
 */
export class DeviceTensorUpload {
  readonly tensors: ReadonlyMap<string, OrtTensor>;
  readonly #session: InferenceSession | undefined;
  #released = false;

  private constructor(tensors: ReadonlyMap<string, OrtTensor>, session: InferenceSession | undefined) {
    this.tensors = tensors;
    this.#session = session;
  }

  /**
   * `throughSession`: copy through the Identity session on the CPU too (what a device does; for
   * tests, since CI has no GPU).
   */
  static async create(
    tensors: ReadonlyMap<string, Tensor<'float32'>>,
    device: ResolvedDevice,
    options: { readonly throughSession?: boolean } = {},
  ): Promise<DeviceTensorUpload> {
    if (tensors.size > MAX_UPLOAD_TENSORS) {
      throw new InvalidArgumentError(
        'tensors',
        `must hold at most ${MAX_UPLOAD_TENSORS}, got ${tensors.size}`,
      );
    }
    const names = [...tensors.keys()];
    const host = new Map(names.map((name) => [name, toOrtTensor(tensors.get(name)!)]));
    if (names.length === 0 || (device === 'cpu' && options.throughSession !== true)) {
      return new DeviceTensorUpload(host, undefined);
    }
    const builder = new GraphBuilder({ name: 'upload' });
    const locations: Record<string, 'gpu-buffer'> = {};
    const feeds: Record<string, OrtTensor> = {};
    names.forEach((name, index) => {
      const rank = tensors.get(name)!.shape.length;
      const dims = Array.from({ length: rank }, (_, dimension) => `d${index}_${dimension}`);
      const output = outputName(index);
      const input = builder.input(inputName(index), 'float32', dims);
      builder.output(
        builder.node('Identity', [input], {}, { outputNames: [output] }),
        output,
        'float32',
        dims,
      );
      if (device !== 'cpu') locations[output] = 'gpu-buffer';
      feeds[inputName(index)] = host.get(name)!;
    });
    const { session } = await createSession(serializeModel(builder.build()), {
      device,
      sessionOptions: { preferredOutputLocation: locations },
    });
    try {
      const outputs = await session.run(feeds);
      return new DeviceTensorUpload(
        new Map(names.map((name, index) => [name, outputs[outputName(index)] as OrtTensor])),
        session,
      );
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** Frees the device copies and their session (host tensors need nothing). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#session === undefined) return;
    for (const tensor of this.tensors.values()) {
      if (tensor.location === 'gpu-buffer') tensor.dispose();
    }
    await this.#session.release();
  }
}

function inputName(index: number): string {
  return `host_${index}`;
}

function outputName(index: number): string {
  return `device_${index}`;
}
