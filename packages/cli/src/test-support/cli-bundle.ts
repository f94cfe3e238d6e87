import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { selfContainedOptions } from '../../../../tooling/bundle/self-contained-bundle';

const CLI_ENTRY = fileURLToPath(new URL('../cli.ts', import.meta.url));

/**
 * The `ptq` bin bundled from source as `pnpm build` makes it (the same esbuild plugin), in a
 * temporary folder, for tests that need a real process: signals, exit codes. Returns its path and
 * a function that removes it.
 */
export async function buildCliBundle(): Promise<{ file: string; remove: () => Promise<void> }> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'ptq-cli-bundle-'));
  const options = selfContainedOptions({ entry: [CLI_ENTRY], outDir });
  const buildOptions: BuildOptions = {
    entryPoints: [CLI_ENTRY],
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: options.esbuildPlugins ?? [],
    logLevel: 'error',
  };
  // The same conditions and banner (`require`, the workspace-source locator) as `pnpm build`.
  options.esbuildOptions?.(buildOptions, { format: 'esm' });
  await build(buildOptions);
  return {
    file: path.join(outDir, 'cli.js'),
    remove: () => rm(outDir, { recursive: true, force: true }),
  };
}
