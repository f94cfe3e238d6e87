import { namedModules } from '@ptq/module-path';
import { createTensor } from '@ptq/tensor';
import type { GPT } from '../modules/gpt';
import { Linear } from '../modules/linear';

/**
 * Gives every linear calibration-like scales that are not 1, so a test exercises them: AWQ
 * `pre_quant_scale` in [0.5, 2) and a float8 `input_scale` of `inputAmax / 448`, both fixed
 * functions of the position, so the model stays reproducible.
 */
export function setCalibratedScales(model: GPT, inputAmax = 6): void {
  let linearIndex = 0;
  for (const [, module] of namedModules(model)) {
    if (!(module instanceof Linear)) continue;
    linearIndex += 1;
    if (module.pre_quant_scale !== undefined) {
      const values = Float32Array.from(
        { length: module.inFeatures },
        (_, channel) => 0.5 + ((channel * 0.618 + linearIndex * 0.37) % 1.5),
      );
      module.pre_quant_scale = createTensor('float32', [module.inFeatures], values);
    }
    if (module.input_scale !== undefined) {
      const amax = inputAmax * (1 + 0.1 * (linearIndex % 3));
      module.input_scale = createTensor('float32', [], Float32Array.of(amax / 448));
    }
  }
}
