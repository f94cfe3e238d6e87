import * as ort from 'onnxruntime-node';

/**
 * Runs an exported decoder (a file, or model bytes) once on the CPU with an empty KV cache and returns its logits.
 * `basic` optimizations only: at `extended` onnxruntime fuses DequantizeLinear → MatMul (integer
 * weights into MatMulNBits with int8 activations, float8 activations into a MatMulIntegerToFloat the
 * CPU provider rejects).
 */
export async function runOnnxFile(
  model: string | Uint8Array,
  ids: readonly number[],
  shape: { layers: number; heads: number; headSize: number },
): Promise<Float32Array> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'basic',
  };
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  try {
    const length = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (_, index) => BigInt(index)),
        [1, length],
      ),
    };
    for (let layer = 0; layer < shape.layers; layer += 1) {
      for (const part of ['key', 'value']) {
        feeds[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          shape.heads,
          0,
          shape.headSize,
        ]);
      }
    }
    const outputs = await session.run(feeds);
    return outputs.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}
