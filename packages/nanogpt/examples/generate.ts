import { compile, GPT, generate, initializeWeights } from '@ptq/nanogpt';

// An unquantized 2-layer model with random weights, compiled on the CPU.
const model = new GPT({ numLayers: 2, numHeads: 4, embeddingSize: 128, vocabSize: 96, blockSize: 64 });
initializeWeights(model, { seed: 1, std: 0.3 });
const compiled = await compile(model, { device: 'cpu' });

const prompt = [5, 17, 42];
const sample = (seed: number) =>
  generate(compiled, prompt, { maxNewTokens: 8, temperature: 0.8, topK: 20, seed });
console.log((await sample(7)).newTokens[0]);
// [ 28, 10, 10, 10, 10, 22, 78, 6 ]
console.log((await sample(7)).newTokens[0]);
// [ 28, 10, 10, 10, 10, 22, 78, 6 ]
console.log((await sample(8)).newTokens[0]);
// [ 28, 10, 93, 93, 4, 75, 28, 40 ]
const stopped = await generate(compiled, prompt, {
  maxNewTokens: 8,
  eosTokenId: 49,
  onToken: (tokens, step) => console.log(step, tokens),
});
// 0 [ 28 ]
// 1 [ 10 ]
// 2 [ 49 ]
console.log(stopped.newTokens[0]);
// [ 28, 10, 49 ]
await compiled.release();
