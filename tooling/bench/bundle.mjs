#!/usr/bin/env node
// Usage: node tooling/bench/bundle.mjs <out dir> <entry.ts> [...]
// Bundles benchmark entry points with the workspace packages from source (the `@ptq/source`
// condition) and transformers.js, keeping onnxruntime-node external, so each script runs with nothing
// but onnxruntime-node beside it.
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [outdir, ...entryPoints] = process.argv.slice(2);
if (!outdir || entryPoints.length === 0) {
  console.error('usage: node tooling/bench/bundle.mjs <out dir> <entry.ts> [...]');
  process.exit(2);
}
// Workspace packages find their data (the default model, bundled datasets) relative to
// `import.meta.url`. Inside a bundle that would be the bundle's URL, so each source file's
// `import.meta.url` becomes its own location, written relative to the bundle: the tree it runs in
// only has to keep the repository's layout.
const keepFileLocation = {
  name: 'keep-file-location',
  setup(builder) {
    builder.onLoad({ filter: /[\\/](packages|tooling)[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = relative(resolve(outdir), args.path).split('\\').join('/');
      const location = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', location), loader: 'ts' };
    });
  },
};

await build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@ptq/source', 'node', 'import'],
  external: ['onnxruntime-node'],
  alias: { sharp: fileURLToPath(new URL('./sharp-stub.mjs', import.meta.url)) },
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  plugins: [keepFileLocation],
  logLevel: 'warning',
  outExtension: { '.js': '.mjs' },
});
