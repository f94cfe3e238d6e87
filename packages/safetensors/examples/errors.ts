import { writeFile } from 'node:fs/promises';
import { PtqError } from '@ptq/errors';
import { openSafetensors } from '@ptq/safetensors';

const file = await openSafetensors('model.safetensors');
try {
  await file.readTensor('transformer.h.0.attn.c_attn.wieght');
} catch (error) {
  if (PtqError.isInstance(error)) console.log(error.code, error.message);
}
// PTQ_SAFETENSORS_MISSING_TENSOR model.safetensors: no tensor named "transformer.h.0.attn.c_attn.wieght"; close names: "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias"
await file.close();

await writeFile('broken.safetensors', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x7b]));
try {
  await openSafetensors('broken.safetensors');
} catch (error) {
  if (PtqError.isInstance(error)) console.log(error.code, error.message);
}
// PTQ_SAFETENSORS_FORMAT broken.safetensors: header length 4294967295 exceeds the limit of 100000000 bytes (MAX_HEADER_LENGTH)
