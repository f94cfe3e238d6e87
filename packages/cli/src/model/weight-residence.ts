import { totalmem } from 'node:os';
import type { Gpt2Config, WeightResidence } from '@ptq/hf-gpt2';
import { gpt2ParameterCount } from './model-figures';

export const WEIGHT_CHOICES = ['auto', 'in-memory', 'on-demand'] as const;
export type WeightChoice = (typeof WEIGHT_CHOICES)[number];

/**
 * The share of this machine's memory the float32 weights may take before `auto` reads them on
 * demand. Held in memory, the quantize command peaks near 1.4× the float32 checkpoint (GPT-2-large,
 * its checks included); on demand, near 0.6×, but each step reads its part of the checkpoint again,
 * which cost 20–30% more wall time (GPT-2-large on a 2-core CPU, GPT-2-124M on an H100).
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
