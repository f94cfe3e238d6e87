import { totalmem } from 'node:os';
import type { Gpt2Config, WeightResidence } from '@ptq/hf-gpt2';
import { gpt2ParameterCount } from './model-figures';

export const WEIGHT_CHOICES = ['auto', 'in-memory', 'on-demand'] as const;
export type WeightChoice = (typeof WEIGHT_CHOICES)[number];

/**
 * The share of this machine's memory the float32 weights may take before `auto` reads them on
 * demand. Held in memory, the quantize command peaked at 1.40–1.45× the float32 checkpoint
 * (GPT-2-large's shape, its checks included); on demand, at 0.58–0.65×, but each step reads its part
 * of the checkpoint again and remakes its transposes: 4–15% more wall time on a 2-core CPU, 20–24%
 * on an H100 before two of those passes were cut (`@ptq/quant-core`'s README).
 */
const IN_MEMORY_SHARE = 0.25;

/**
 * Where the weights live for `--weights`: `auto` holds them in memory unless their float32 size
 * passes a quarter of the machine's memory, where reading them on demand keeps the command well
 * inside it.
 */
export function chooseWeightResidence(
  choice: WeightChoice,
  config: Gpt2Config,
  machineBytes: number = totalmem(),
): WeightResidence {
  if (choice !== 'auto') return choice;
  const float32Bytes = gpt2ParameterCount(config) * 4;
  return float32Bytes > machineBytes * IN_MEMORY_SHARE ? 'on-demand' : 'in-memory';
}
