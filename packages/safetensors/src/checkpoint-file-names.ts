/** Name of a single-file checkpoint (the Hugging Face convention). */
export const SAFETENSORS_FILE = 'model.safetensors';

/** Name of the index that maps tensor names to shard files. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** `model-00002-of-00003.safetensors`, the `transformers` shard naming. */
export function shardFileName(position: number, count: number): string {
  const pad = (value: number) => String(value).padStart(5, '0');
  return `model-${pad(position)}-of-${pad(count)}.safetensors`;
}
