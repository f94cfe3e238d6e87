// `pnpm ptq …`: runs the `ptq` command from this checkout. The bin is one bundled file built from the
// workspace sources; it is rebuilt (a few seconds) only when a file it is built from is newer than it,
// so later runs start at once.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = path.join(root, 'packages', 'cli', 'dist', 'cli.js');

/** Newest modification time of the files the bin is built from (sources, bundle tooling, installs). */
function newestInputTime() {
  let newest = 0;
  const consider = (file) => {
    newest = Math.max(newest, statSync(file).mtimeMs);
  };
  const packagesDir = path.join(root, 'packages');
  for (const name of readdirSync(packagesDir)) {
    const packageDir = path.join(packagesDir, name);
    if (existsSync(path.join(packageDir, 'package.json'))) consider(path.join(packageDir, 'package.json'));
    const sourceDir = path.join(packageDir, 'src');
    if (!existsSync(sourceDir)) continue;
    for (const entry of readdirSync(sourceDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
      const file = path.join(entry.parentPath ?? entry.path, entry.name);
      if (!file.includes(`${path.sep}__fixtures__${path.sep}`)) consider(file);
    }
  }
  for (const name of readdirSync(path.join(root, 'tooling', 'bundle'))) {
    consider(path.join(root, 'tooling', 'bundle', name));
  }
  consider(path.join(here, 'tsup.config.ts'));
  // pnpm rewrites this file on every install, so a changed dependency also triggers a rebuild.
  const modulesState = path.join(root, 'node_modules', '.modules.yaml');
  if (existsSync(modulesState)) consider(modulesState);
  return newest;
}

function build() {
  const quiet = process.argv.includes('--quiet') || process.argv.includes('-q');
  if (!quiet) process.stderr.write('Building the ptq command from the workspace sources…\n');
  const require = createRequire(path.join(root, 'package.json'));
  const tsupPackage = require.resolve('tsup/package.json');
  const tsupBin = path.join(path.dirname(tsupPackage), require(tsupPackage).bin.tsup);
  const result = spawnSync(
    process.execPath,
    [tsupBin, '--config', path.join(here, 'tsup.config.ts'), '--silent'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (result.status !== 0) {
    process.stderr.write('ptq: building the command failed (see above)\n');
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(bin) || statSync(bin).mtimeMs < newestInputTime()) build();
// The bin reads process.argv.slice(2), which is what `pnpm ptq` passed here.
await import(pathToFileURL(bin).href);
