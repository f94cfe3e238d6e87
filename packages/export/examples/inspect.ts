import { detectExport, inspectExport } from '@ptq/export';

console.log(await detectExport('gpt2-fp8-qdq')); // onnx

const int4 = await inspectExport('gpt2-int4-awq');
console.log(int4.format, int4.mode, int4.quantAlgo, int4.modelFile); // modelopt-hf int4-weight-only W4A16_AWQ model.safetensors
console.log(int4.quantizedLayers.length, int4.quantizedLayers[0]); // 16 transformer.h.0.attn.c_attn
console.log(int4.scaleStats);
// {
//   weight_scale: { count: 24576, min: 0.0027161631733179092, max: 0.026244791224598885, mean: 0.010129414627139491 },
//   pre_quant_scale: { count: 5120, min: 0.45926451683044434, max: 2.177394390106201, mean: 1.0328680655453355 }
// }
console.log(int4.fp32Size, int4.sizeOnDisk); // 22075392 11741357

const fp8 = await inspectExport('gpt2-fp8-qdq');
console.log(fp8.format, fp8.mode, fp8.modelFile, fp8.quantizedLayers.length); // onnx float8 onnx/model_qdq.onnx 17
console.log(fp8.scaleStats);
// {
//   weight_scale: { count: 17, min: 0.00012104852066840976, max: 0.0006664820830337703, mean: 0.00030040340018732585 },
//   input_scale: { count: 17, min: 0.0021743127144873142, max: 0.01762394793331623, mean: 0.008802869535215637 }
// }
console.log(fp8.fp32Size, fp8.sizeOnDisk); // 30464076 15311527
