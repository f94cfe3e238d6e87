import { loadModelOptCheckpoint, readModelOptCheckpoint } from '@ptq/export';
import { compile, generate } from '@ptq/nanogpt';
import { hf } from './modelopt-checkpoint';

const checkpoint = await readModelOptCheckpoint('gpt2-int4-awq');
console.log(checkpoint.quantAlgo, checkpoint.mode); // W4A16_AWQ int4-weight-only
console.log(checkpoint.excludeModules); // [ 'lm_head' ]
console.log(checkpoint.producer?.name); // ptq

export const { gpt } = await loadModelOptCheckpoint('gpt2-int4-awq');
const compiled = await compile(gpt, { device: 'cpu' });
const { tokens } = await generate(compiled, hf.tokenizer!.encode('The old man said'), { maxNewTokens: 16 });
console.log(JSON.stringify(hf.tokenizer!.decode(tokens[0]!)));
// "The old man said,\nAnd he was a man, and he was a man,\nAnd"
