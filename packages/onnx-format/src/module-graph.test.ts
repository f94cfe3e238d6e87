import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The point of this package: building, writing and reading ONNX models must not load
// onnxruntime-node's native binding (the CLI's `--help`, `ptq inspect`, the exporters).

// Import specifiers as TypeScript sources write them: `from '…'`, `import '…'`, `import('…')`,
// `export … from '…'`. Type-only imports count too, so that a declaration file never names it either.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"\n]+)\1/g;
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
const SOURCE_CONDITION = '@ptq/source';

function bareName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The `@ptq/source` entry of a workspace package, as Vitest and tsc resolve it. */
function sourceEntry(name: string, fromFile: string): string | undefined {
  const require = createRequire(fromFile);
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports?: Record<string, Record<string, string> | string>;
  };
  const root = manifest.exports?.['.'];
  const entry = typeof root === 'object' ? root[SOURCE_CONDITION] : undefined;
  return entry === undefined ? undefined : path.join(path.dirname(manifestPath), entry);
}

function resolveRelative(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  }
  throw new Error(`${fromFile} imports ${specifier}, which resolves to no .ts file`);
}

/**
 * Every module reachable from `entry`, following workspace packages into their sources: the files
 * visited and the third-party packages imported (by name) along the way.
 */
function moduleGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const specifier = match[2]!;
      if (specifier.startsWith('.')) {
        pending.push(resolveRelative(file, specifier));
      } else if (!BUILTINS.has(specifier)) {
        const source = sourceEntry(bareName(specifier), file);
        if (source === undefined) packages.add(bareName(specifier));
        else pending.push(source);
      }
    }
  }
  return { files, packages };
}

const index = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('the module graph of @ptq/onnx-format', () => {
  const { files, packages } = moduleGraph(index);

  it('reaches no third-party package, so never onnxruntime-node', () => {
    expect(packages).not.toContain('onnxruntime-node');
    expect([...packages]).toEqual([]);
  });

  it('walks this package and the workspace packages it builds on', () => {
    const owners = new Set(
      [...files].map((file) => path.relative(path.resolve(index, '../../..'), file).split(path.sep)[0]),
    );
    expect([...owners].sort()).toEqual(['errors', 'files', 'onnx-format', 'tensor']);
    expect(files).toContain(fileURLToPath(new URL('./graph-builder.ts', import.meta.url)));
    expect(files).toContain(fileURLToPath(new URL('./write-model.ts', import.meta.url)));
  });

  it('would see onnxruntime-node through a type-only import', () => {
    const source = "import type { InferenceSession } from 'onnxruntime-node';";
    expect([...source.matchAll(SPECIFIER)].map((match) => match[2])).toEqual(['onnxruntime-node']);
  });
});
