import { defineConfig } from 'tsup';

// Bundles the benchmark with the workspace sources, so it times the same single-module code a build
// ships (a dev-server transform turns cross-module references into getter calls inside hot loops).
export default defineConfig({
  entry: { 'quantize-throughput': 'bench/quantize-throughput.ts' },
  outDir: 'bench-results/build',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  clean: true,
  dts: false,
  noExternal: [/^@ptq\//],
  esbuildOptions(options) {
    options.conditions = ['@ptq/source'];
  },
});
