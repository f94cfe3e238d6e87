// transformers.js imports sharp statically for image pipelines, which ptq never uses. Bundles that must
// run where sharp is not installed point the import here.
export default function sharp() {
  throw new Error('sharp is not available in this bundle');
}
