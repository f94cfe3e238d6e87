import { compile, GPT, generate, initializeWeights } from '@ptq/nanogpt';

const model = new GPT({
  numLayers: 2,
  numHeads: 4,
  embeddingSize: 128,
  vocabSize: 96,
  blockSize: 64,
  quantMode: 'int4-weight-only',
});
initializeWeights(model, { seed: 1, std: 0.3 }); // random; or model.loadStateDict(weights) with real ones

const compiled = await compile(model, { device: 'cpu', batch: 2 });
const { tokens, timings } = await generate(
  compiled,
  [
    [5, 17, 42],
    [8, 9],
  ],
  { maxNewTokens: 6 },
);
console.log(tokens);
// [ [ 5, 17, 42, 28, 10, 15, 51, 73, 93 ], [ 8, 9, 49, 26, 26, 26, 26, 26 ] ]
console.log(compiled.device, compiled.weightFormat, timings.tokensPerSecond > 0);
// cpu matmul-nbits true
await compiled.release();
