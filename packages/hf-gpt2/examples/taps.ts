import { attentionMask, inputIds, model } from './load-and-run';

const { taps } = await model.forward(inputIds, attentionMask, {
  logits: false, // lm_head's matmul is left out of the graph
  taps: [
    { module: 'transformer.h.0.attn.c_attn', absMax: true, absMeanPerChannel: true },
    { module: 'lm_head', absMax: true, input: true },
  ],
});
const cAttn = taps.get('transformer.h.0.attn.c_attn')!;
console.log(cAttn.tokenCount, cAttn.absMax); // 15 3.081138849258423
console.log(cAttn.absMeanPerChannel!.subarray(0, 4));
// Float32Array(4) [ 0.6369372010231018, 0.8389987945556641, 0.8584924936294556, 0.7704927325248718 ]
console.log(taps.get('lm_head')!.input!.shape); // [ 15, 256 ]
