import { transposeMatrix } from '@ptq/tensor';
import { firstValue, type ProductRequest, quantizedWeightOf } from './linear-product';

/** A float8 linear's weight as the graph stores it, whichever format decodes it. */
export interface Float8Weight {
  /** The e4m3 codes transposed to `[in, out]`, so the product needs no Transpose. */
  readonly codes: Uint8Array;
  /** The weight's per-tensor scale. */
  readonly scale: number;
  /**
   * The factor the weight's scale also takes: with the input scale folded in, the weight's scale
   * carries it, (q_x · s_x) · W = q_x · (s_x · W); else 1.
   */
  readonly inputScale: number;
}

/** The codes and scales of a float8 linear, for the `lookup` and `dequantize-linear` emitters. */
export function float8WeightOf(request: ProductRequest): Float8Weight {
  const { linear, foldInputScale } = request;
  const { inFeatures, outFeatures } = linear;
  const { codes: rowCodes, scales } = quantizedWeightOf(request);
  const inputScale = foldInputScale && linear.input_scale !== undefined ? firstValue(linear.input_scale) : 1;
  const codes = transposeMatrix(rowCodes as Uint8Array, outFeatures, inFeatures);
  return { codes, scale: scales[0]!, inputScale };
}
