import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { exportModelOptCheckpoint, exportOnnx, loadModelOptCheckpoint } from '@ptq/export';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize } from '@ptq/quant-core';

const fp8 = await modelOptQuantize(await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' }), 'float8');
await exportModelOptCheckpoint(fp8, 'gpt2-fp8', { sourceDir: DEFAULT_MODEL_DIR });
const { gpt } = await loadModelOptCheckpoint('gpt2-fp8');
const { modelFile } = await exportOnnx(gpt, 'gpt2-fp8-qdq', {
  sourceDir: DEFAULT_MODEL_DIR,
  format: 'onnx-qdq',
});
console.log(modelFile); // onnx/model_qdq.onnx
