import { createTensor } from '@ptq/tensor';
import type { CalibrationModel, ForwardLoop } from '@ptq/types';

const batches = [
  {
    inputIds: createTensor('int64', [1, 3], BigInt64Array.of(464n, 1468n, 7586n)),
    attentionMask: createTensor('int64', [1, 3], BigInt64Array.of(1n, 1n, 1n)),
  },
];

const loop: ForwardLoop = async (model: CalibrationModel) => {
  for (const { inputIds, attentionMask } of batches) await model.forward(inputIds, attentionMask);
};

// Any object with forward(inputIds, attentionMask) can run it.
await loop({ forward: async (inputIds) => console.log(inputIds.shape) }); // [ 1, 3 ]
