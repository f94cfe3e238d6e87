import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { exportOnnx } from '@ptq/export';
import { gpt } from './load-it-back';

const { files, modelFile, transformersDtype, externalData } = await exportOnnx(gpt, 'gpt2-q4-onnx', {
  sourceDir: DEFAULT_MODEL_DIR,
});
console.log(files);
// [ 'config.json', 'generation_config.json', 'onnx/model_q4.onnx',
//   'ptq-manifest.json', 'tokenizer.json', 'tokenizer_config.json' ]
console.log(modelFile, transformersDtype, externalData); // onnx/model_q4.onnx q4 false
