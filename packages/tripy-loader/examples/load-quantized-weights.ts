import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { compile, GPT, generate } from '@ptq/nanogpt';
import { gptConfigFromHf, loadQuantWeights } from '@ptq/tripy-loader';

const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
const gpt = new GPT(gptConfigFromHf(hf.config, { dtype: 'float32', quantMode: 'int4-weight-only' }));
await loadQuantWeights({ model: gpt, source: hf, quantMode: 'int4-weight-only' });
console.log(gpt.stateDict().get('transformer.h.0.attn.c_attn.weight_scale')?.shape); // [ 768, 2 ]  ([out, in/128])

const compiled = await compile(gpt, { device: 'cpu' });
const prompt = hf.tokenizer!.encode('It was a bright cold day in April, and');
const { newTokens } = await generate(compiled, prompt, { maxNewTokens: 16 });
console.log(JSON.stringify(hf.tokenizer!.decode(newTokens[0]!)));
// " the world,\nand the world, and the world, and the world,"
