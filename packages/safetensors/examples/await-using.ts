import { openSafetensors } from '@ptq/safetensors';

{
  await using file = await openSafetensors('model.safetensors');
  console.log([...file.tensors.keys()]);
  // [
  //   'h.0.attn.c_attn.weight',
  //   'h.0.attn.c_attn.bias',
  //   'h.0.attn.c_attn.weight_scale'
  // ]
}
