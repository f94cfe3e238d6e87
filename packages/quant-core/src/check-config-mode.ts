import { InvalidArgumentError } from '@ptq/errors';
import type { QuantMode } from './quant-config';
import type { QuantLinear } from './quant-linear';
import type { TensorQuantizer } from './tensor-quantizer';

/** What each mode's runtime and export hold, described for the error. */
const MODE_WEIGHTS: Record<QuantMode, string> = {
  'int8-weight-only': 'int8 weights per output channel, inputs not quantized',
  'int4-weight-only': 'int4 weights in blocks of 128 along the input, inputs not quantized',
  float8: 'float8 e4m3 weights and inputs, per tensor',
};

function describe(quantizer: TensorQuantizer): string {
  const layout =
    quantizer.blockSize !== undefined
      ? `blocks of ${quantizer.blockSize}`
      : quantizer.axis === null
        ? 'per tensor'
        : `axis ${quantizer.axis}`;
  return `${quantizer.format} ${layout}`;
}

function fits(mode: QuantMode, linear: QuantLinear): boolean {
  const weight = linear.weight_quantizer;
  const input = linear.input_quantizer;
  switch (mode) {
    case 'int8-weight-only':
      return (
        weight.format === 'int8' && weight.blockSize === undefined && weight.axis === 0 && !input.enabled
      );
    case 'int4-weight-only':
      return weight.format === 'int4' && weight.blockSize === 128 && !input.enabled;
    case 'float8':
      return (
        weight.format === 'float8e4m3fn' &&
        weight.blockSize === undefined &&
        weight.axis === null &&
        (!input.enabled || (input.format === 'float8e4m3fn' && input.axis === null))
      );
  }
}

/**
 * A custom `config` must quantize the way its `mode` is run and exported: the mode picks the runtime
 * format and the export's `quant_algo`, so a config of another format would be labelled wrongly.
 * Checked on every linear whose weight quantizer is enabled; the algorithm (max or AWQ-lite) is free.
 */
export function checkConfigMatchesMode(mode: QuantMode, linears: ReadonlyMap<string, QuantLinear>): void {
  for (const [path, linear] of linears) {
    if (!linear.weight_quantizer.enabled) continue;
    if (fits(mode, linear)) continue;
    const input = linear.input_quantizer.enabled ? `, input ${describe(linear.input_quantizer)}` : '';
    throw new InvalidArgumentError(
      'config',
      `quantizes ${path} as weight ${describe(linear.weight_quantizer)}${input}, but mode "${mode}" runs and exports ${MODE_WEIGHTS[mode]}`,
    );
  }
}
