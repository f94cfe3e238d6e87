import { readTransformersReference } from '@ptq/default-model';

const reference = await readTransformersReference();
console.log(reference.heldOutPerplexity.perplexity);
// 98.62859719796043
