import { resolve } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';

env.allowRemoteModels = false;
// An absolute path: transformers.js reads a relative one as a hub id.
const generator = await pipeline('text-generation', resolve('gpt2-q4-onnx'), { device: 'cpu' });
console.log(await generator('The old man said', { max_new_tokens: 16, do_sample: false }));
// [ { generated_text: 'The old man said,\nAnd he was a man, and he was a man,\nAnd' } ]
