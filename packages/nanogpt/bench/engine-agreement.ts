// Whether the kernels engine on this machine's GPU computes what the onnxruntime engine computes on
// the CPU: a GPT-2-124M-shaped model with random weights per quant mode, float32; the largest logit
// difference over a prompt's positions and how many of 128 greedy tokens agree. The tests check
// the same on Mesa's llvmpipe; this checks the driver and the GPU's arithmetic.
//
//   tsup --config ../../tooling/bench/tsup.config.ts --silent bench/engine-agreement.ts
//   node ../../.bench/engine-agreement.js --out bench-results/engine-agreement.json
import { createTensor } from '@ptq/tensor';
import { flag, machine, printTable, writeJson } from '../../../tooling/bench/report';
import { compile, GPT, generate, initializeWeights, type QuantMode } from '../src/index';

const out = flag('out', 'bench-results/nanogpt-engine-agreement.json');
const newTokens = Number(flag('tokens', '128'));
const allowSoftwareAdapter = process.argv.includes('--allow-software-adapter');
const modes = flag('modes', 'none,int8-weight-only,int4-weight-only,float8').split(',');
const shapeName = flag('shape', 'gpt2-124m');
const SHAPES = {
  'gpt2-124m': { numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: 50257, blockSize: 1024 },
  tiny: { numLayers: 12, numHeads: 4, embeddingSize: 128, vocabSize: 512, blockSize: 1024 },
};
const shape = SHAPES[shapeName as keyof typeof SHAPES];
const prompt = Array.from({ length: 32 }, (_, index) => (index * 7919) % shape.vocabSize);
const ids = createTensor('int64', [1, prompt.length], BigInt64Array.from(prompt, BigInt));

const rows: (string | number)[][] = [];
const results = [];
let adapter = '';
for (const mode of modes) {
  const model = new GPT({ ...shape, quantMode: mode === 'none' ? undefined : (mode as QuantMode) });
  initializeWeights(model, { seed: 1 });
  const maxSequence = prompt.length + newTokens + 8;
  const reference = await compile(model, { device: 'cpu', engine: 'onnxruntime', maxSequence });
  const kernels = await compile(model, { engine: 'kernels', allowSoftwareAdapter, maxSequence });
  adapter = kernels.adapterName;
  const expected = (await reference.forward(ids)).logits.data;
  const actual = (await kernels.forward(ids)).logits.data;
  let largest = 0;
  let scale = 0;
  for (let index = 0; index < expected.length; index += 1) {
    largest = Math.max(largest, Math.abs(expected[index]! - actual[index]!));
    scale = Math.max(scale, Math.abs(expected[index]!));
  }
  const options = { maxNewTokens: newTokens, stopAtEos: false };
  const referenceTokens = (await generate(reference, prompt, options)).newTokens[0]!;
  const kernelTokens = (await generate(kernels, prompt, options)).newTokens[0]!;
  let same = 0;
  while (same < newTokens && referenceTokens[same] === kernelTokens[same]) same += 1;
  await reference.release();
  await kernels.release();
  results.push({ mode, maxLogitDifference: largest, largestLogit: scale, identicalGreedyPrefix: same });
  rows.push([mode, largest, scale, `${same} of ${newTokens}`]);
  console.error(JSON.stringify(results.at(-1)));
}
const host = machine();
printTable(
  `Kernels engine (${adapter}) against onnxruntime on the CPU, ${shapeName} shape, random weights, float32 — ${host.gpu ?? 'no GPU'}`,
  [
    'mode',
    'largest logit difference (32 positions)',
    'largest |logit|',
    'greedy tokens identical from the start',
  ],
  rows,
);
writeJson(out, { machine: host, adapter, shape: shapeName, newTokens, results });
