import { resolveHubFiles } from '@ptq/hub';

const { paths, source } = await resolveHubFiles(
  'openai-community/gpt2',
  ['config.json', 'model.safetensors'],
  {
    onNotice: (line) => console.error(line),
  },
);
// ptq: downloading openai-community/gpt2 config.json (665 B) into the Hugging Face cache (/home/user/.cache/huggingface/hub)
// ptq: downloading openai-community/gpt2 model.safetensors (548.1 MB) into the Hugging Face cache (/home/user/.cache/huggingface/hub)
console.log(paths);
// [
//   '/home/user/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/<commit>/config.json',
//   '/home/user/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/<commit>/model.safetensors'
// ]
console.log(source); // download

// The second time, nothing goes over the network:
const again = await resolveHubFiles('openai-community/gpt2', ['config.json', 'model.safetensors']);
console.log(again.source); // hf-cache
