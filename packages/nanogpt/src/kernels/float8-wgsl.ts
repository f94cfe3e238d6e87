/**
 * WGSL functions for float8 e4m3fn, written with integer bit operations (exact on every GPU and
 * untouched by a shader compiler's float rewrites):
 *
 * - `float8_decode(code)`: the code's value as f32, bit for bit `@ptq/tensor`'s
 *   `float8E4M3FNBitsToFloat32` (NaN for 0x7f and 0xff);
 * - `float8_fake_quant(x, scale)`: `e4m3(x / scale)`, left on the e4m3 grid, as the graph's
 *   `appendFloat8FakeQuant` with `rescale: false` computes it: `x / scale` clipped to ±448, then
 *   round to nearest even at 3 mantissa bits (normal) or at the subnormal step 2^-9; a zero scale
 *   gives 0, as ModelOpt.
 */
export const FLOAT8_WGSL = /* wgsl */ `
fn float8_decode(code: u32) -> f32 {
  let sign = (code >> 7u) & 1u;
  let exponent = (code >> 3u) & 15u;
  let mantissa = code & 7u;
  var magnitude: f32;
  if (exponent == 0u) {
    // Subnormal: mantissa · 2^-9, exact.
    magnitude = f32(mantissa) * 0.001953125;
  } else if (exponent == 15u && mantissa == 7u) {
    return bitcast<f32>((sign << 31u) | 0x7fc00000u);
  } else {
    magnitude = bitcast<f32>(((exponent + 120u) << 23u) | (mantissa << 20u));
  }
  return select(magnitude, -magnitude, sign == 1u);
}

fn float8_fake_quant(x: f32, scale: f32) -> f32 {
  if (scale == 0.0) {
    return 0.0;
  }
  let y = clamp(x / scale, -448.0, 448.0);
  if (abs(y) < 0.015625) {
    // Multiplying by 2^9 is exact; WGSL's round() is round-half-to-even.
    return round(y * 512.0) * 0.001953125;
  }
  let bits = bitcast<u32>(y);
  let rounded = (bits + 0x7ffffu + ((bits >> 20u) & 1u)) & 0xfff00000u;
  return bitcast<f32>(rounded);
}
`;
