// Stands in for `sharp` in ptq's bundles: transformers.js imports it statically for image inputs,
// which ptq never uses, and the native module is not there where the bundle runs. The export is
// a function (truthy) because transformers.js checks at load time that an image library exists.
export default function sharp(): never {
  throw new Error('image processing (sharp) is not included in the ptq bundle');
}
