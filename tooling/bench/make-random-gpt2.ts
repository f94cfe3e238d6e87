// Writes a random fp32 GPT-2 checkpoint of a named shape into a folder, for timing the `ptq` command:
//   pnpm --filter @ptq/quant-core exec tsup --config ../../tooling/bench/tsup.config.ts \
//     ../../tooling/bench/make-random-gpt2.ts
//   node .bench/make-random-gpt2.js <folder> gpt2-124m|gpt2-large|gpt2-xl
import { GPT2_124M, GPT2_LARGE, GPT2_XL, type RandomGpt2Shape, writeRandomGpt2 } from './random-gpt2';

const SHAPES: Record<string, RandomGpt2Shape> = {
  'gpt2-124m': GPT2_124M,
  'gpt2-large': GPT2_LARGE,
  'gpt2-xl': GPT2_XL,
};
const [folder, shapeName = 'gpt2-124m'] = process.argv.slice(2);
const shape = SHAPES[shapeName];
if (folder === undefined || shape === undefined) {
  throw new Error(`usage: make-random-gpt2 <folder> ${Object.keys(SHAPES).join('|')}`);
}
await writeRandomGpt2(folder, shape, 1, 'float32');
console.log(folder);
