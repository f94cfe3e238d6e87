import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { exportModelOptCheckpoint } from '@ptq/export';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize } from '@ptq/quant-core';

export const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
const quantized = await modelOptQuantize(hf, 'int4-weight-only');
const { files } = await exportModelOptCheckpoint(quantized, 'gpt2-int4-awq', {
  sourceDir: DEFAULT_MODEL_DIR,
});
console.log(files);
// [ 'config.json', 'generation_config.json', 'hf_quant_config.json',
//   'model.safetensors', 'ptq-manifest.json', 'tokenizer.json', 'tokenizer_config.json' ]
