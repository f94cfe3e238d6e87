import { type BlockHiddenState, embedBatch, Gpt2BlockSession, validateBatch } from '@ptq/hf-gpt2';
import { attentionMask, inputIds, model } from './load-and-run';

const source = {
  config: model.config,
  transformer: model.transformer,
  linear: (path: string) => model.linear(path),
};
const { realTokenIndices } = validateBatch(model.config, inputIds, attentionMask);
let hidden: BlockHiddenState = embedBatch(model.transformer, inputIds, attentionMask);
for (let layer = 0; layer < model.config.n_layer; layer++) {
  const cFc = `transformer.h.${layer}.mlp.c_fc`;
  const session = await Gpt2BlockSession.open(source, layer, [{ module: cFc, absMax: true }], {
    device: 'cpu',
  });
  const { next, taps } = await session.run({ ...hidden, attentionMask, realTokenIndices });
  await session.release();
  console.log(cFc, taps.get(cFc)!.absMax);
  hidden = next!;
}
// transformer.h.0.mlp.c_fc 3.2728962898254395
// transformer.h.1.mlp.c_fc 3.7685306072235107
// transformer.h.2.mlp.c_fc 4.322563648223877
// transformer.h.3.mlp.c_fc 3.634993553161621
