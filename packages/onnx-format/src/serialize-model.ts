import { type ExternalDataPlacement, encodeModel } from './encode-model';
import { OnnxModelTooLargeError } from './errors';
import type { ModelDefinition } from './model-definition';
import { encodeMessage, type ReusableBytes } from './protobuf-writer';
import { validateModel } from './validate-model';

/** Protobuf messages are limited to 2 GiB − 1 byte (lengths are signed 32-bit in every implementation). */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/** Encodes a model; shared by `serializeModel` and `writeModel`, which passes external placements. */
export function encodeModelBytes(
  model: ModelDefinition,
  placements: ReadonlyMap<string, ExternalDataPlacement>,
  advice: string,
  reuse?: ReusableBytes,
): Uint8Array {
  validateModel(model);
  return encodeMessage(
    (sink) => encodeModel(sink, model, placements),
    (size) => {
      if (size > MAX_PROTOBUF_BYTES) {
        throw new OnnxModelTooLargeError(
          `graph "${model.graph.name}": the ModelProto would take ${size} bytes, over the protobuf limit of ${MAX_PROTOBUF_BYTES} bytes; ${advice}`,
          size,
        );
      }
    },
    reuse,
  );
}

/**
 * The `ModelProto` bytes of a model with every initializer inline, ready for
 * `InferenceSession.create(bytes)`. Models over 2 GiB are refused before anything is allocated:
 * write them with `writeModel(model, path, { externalData: true })`. With `reuse`, the bytes are
 * written into its array (see `ReusableBytes`): for a caller that builds one session after another
 * and hands each its bytes before serializing the next (onnxruntime copies what it keeps).
 */
export function serializeModel(model: ModelDefinition, reuse?: ReusableBytes): Uint8Array {
  return encodeModelBytes(
    model,
    new Map(),
    'write it with writeModel(model, path, { externalData: true }) so its initializers go to an external data file',
    reuse,
  );
}
