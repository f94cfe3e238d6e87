import { GPT } from '@ptq/nanogpt';

export const model = new GPT({
  numLayers: 12,
  numHeads: 12,
  embeddingSize: 768,
  vocabSize: 50257,
  blockSize: 1024,
  quantMode: 'int4-weight-only',
});
for (const [key, tensor] of model.stateDict()) {
  if (key.startsWith('transformer.h.0.attn.')) console.log(key, tensor.dtype, tensor.shape);
}
// transformer.h.0.attn.c_attn.weight float32 [ 2304, 768 ]
// transformer.h.0.attn.c_attn.bias float32 [ 2304 ]
// transformer.h.0.attn.c_attn.weight_scale float32 [ 2304, 6 ]
// transformer.h.0.attn.c_attn.pre_quant_scale float32 [ 768 ]
// transformer.h.0.attn.c_proj.weight float32 [ 768, 768 ]
// transformer.h.0.attn.c_proj.bias float32 [ 768 ]
// transformer.h.0.attn.c_proj.weight_scale float32 [ 768, 6 ]
// transformer.h.0.attn.c_proj.pre_quant_scale float32 [ 768 ]
console.log(
  model.weightsTied,
  model.stateDict().get('lm_head.weight') === model.stateDict().get('transformer.wte.weight'),
);
// true true
