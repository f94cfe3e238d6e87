import { writeSafetensors } from '@ptq/safetensors';
import { createTensor } from '@ptq/tensor';

await writeSafetensors(
  'model.safetensors',
  {
    'h.0.attn.c_attn.weight': createTensor('float32', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6])),
    'h.0.attn.c_attn.bias': createTensor('float16', [3], new Uint16Array([0x3c00, 0x4000, 0x4200])),
    'h.0.attn.c_attn.weight_scale': createTensor('float8e4m3fn', [], new Uint8Array([0x38])),
  },
  { metadata: { format: 'pt' } },
);
