/** Round half to even, as PyTorch's `round` (JavaScript's `Math.round` rounds half up). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  if (value - floor !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Q(W·diag(s)) as ModelOpt computes it on the host, each step in float32: int4 codes in blocks of
 * `blockSize` along `in` (the last one partial), `w·(7/amax)` rounded half to even and clamped to
 * [-8, 7], divided back; amax = 0 gives 0. W is `[out, in]`.
 */
export function fakeQuantizedScaled(
  w: Float32Array,
  s: Float32Array,
  out: number,
  inFeatures: number,
  blockSize: number,
): Float32Array {
  const quantized = new Float32Array(out * inFeatures);
  for (let row = 0; row < out; row++) {
    for (let start = 0; start < inFeatures; start += blockSize) {
      const end = Math.min(start + blockSize, inFeatures);
      let amax = 0;
      for (let column = start; column < end; column++) {
        amax = Math.max(amax, Math.abs(Math.fround(w[row * inFeatures + column]! * s[column]!)));
      }
      const scale = Math.fround(Math.fround(1 / amax) * 7);
      for (let column = start; column < end; column++) {
        const value = Math.fround(w[row * inFeatures + column]! * s[column]!);
        const code = Math.min(7, Math.max(-8, roundHalfEven(Math.fround(value * scale))));
        quantized[row * inFeatures + column] = amax > 0 ? Math.fround(code / scale) : 0;
      }
    }
  }
  return quantized;
}
