import { openOnnxExport } from '@ptq/export';
import { generate } from '@ptq/nanogpt';
import { hf } from './modelopt-checkpoint';

const { compiled, mode } = await openOnnxExport('gpt2-q4-onnx', { device: 'cpu' });
console.log(mode); // int4-weight-only
// `compiled` works with generate() and forward() like compile()'s result
const { tokens } = await generate(compiled, hf.tokenizer!.encode('The old man said'), { maxNewTokens: 16 });
console.log(JSON.stringify(hf.tokenizer!.decode(tokens[0]!)));
// "The old man said,\nAnd he was a man, and he was a man,\nAnd"
