import { findInCache, hubCacheDir } from '@ptq/hub';

console.log(hubCacheDir()); // /home/user/.cache/huggingface/hub
console.log(await findInCache('openai-community/gpt2', ['config.json', 'tokenizer.json']));
// [
//   '/home/user/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/<commit>/config.json',
//   undefined
// ]
