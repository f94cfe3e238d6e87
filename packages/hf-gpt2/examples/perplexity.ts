import { perplexity } from '@ptq/hf-gpt2';
import { model } from './load-and-run';

const text =
  'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped quickly through the glass doors of Victory Mansions.';
console.log(await perplexity(model, text));
// { perplexity: 183.29702738371242, negativeLogLikelihood: 312.6664762496948, tokenCount: 60 }
console.log(await perplexity(model, text, { window: 16, stride: 8 }));
// { perplexity: 198.73875517957637, negativeLogLikelihood: 317.51947045326233, tokenCount: 60 }
