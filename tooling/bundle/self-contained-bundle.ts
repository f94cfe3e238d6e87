import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from 'tsup';

/** An esbuild plugin, typed through tsup (which bundles esbuild) so no direct esbuild dependency is needed. */
type Plugin = NonNullable<Options['esbuildPlugins']>[number];

export interface SelfContainedBundleOptions {
  /** Folder the bundle is written to. */
  readonly outDir: string;
  /** A workspace package that depends on onnxruntime-node, to find the installed copy from. */
  readonly onnxruntimeFrom: string;
  /** A workspace package that depends on `webgpu` (Dawn), to find the installed copy from. */
  readonly webgpuFrom: string;
}

const ONNXRUNTIME = 'onnxruntime-node';
const VIRTUAL_NAMESPACE = 'ptq-bundle';
const WEBGPU = 'webgpu';
const WEBGPU_NAMESPACE = 'ptq-bundle-webgpu';
const SHARP_STUB = fileURLToPath(new URL('./sharp-stub.ts', import.meta.url));
// transformers.js loads onnxruntime-node through a require made from its own location, which a
// bundle has moved; it is rewired to the import below.
const TRANSFORMERS_REQUIRE = 'requireFromHere("onnxruntime-node")';

/**
 * esbuild plugin for a single-file ESM bundle of a ptq program that needs nothing installed but
 * onnxruntime-node (a native module, never bundled):
 *
 * - `onnxruntime-node` becomes a small module that requires the real one at run time, first as any
 *   program would (a `node_modules` next to or above the bundle: how it runs on a GPU machine),
 *   then from where this workspace installed it (pnpm keeps it under the packages that use it);
 * - `webgpu` (Dawn, a native module too, imported only by the kernels engine) is imported at run
 *   time the same way: from a `node_modules` beside the bundle, else from this workspace;
 * - `sharp` becomes a stub (transformers.js imports it for images, which ptq never reads);
 * - `import.meta.url` in workspace sources is rewritten to the source file's own URL, so packages
 *   still find their data (the bundled model, calibration samples) beside their sources: inside the
 *   installed package of that name when one resolves from the bundle (an npm install, where a global
 *   install nests the dependencies under the bin's package), else relative to the bundle (this
 *   workspace, where a bundle need not depend on every package it contains).
 */
export function selfContainedBundle(options: SelfContainedBundleOptions): Plugin {
  const requireFrom = createRequire(path.join(options.onnxruntimeFrom, 'package.json'));
  const onnxruntimeEntry = requireFrom.resolve(ONNXRUNTIME);
  const exportNames = Object.keys(requireFrom(ONNXRUNTIME) as Record<string, unknown>).filter(
    (name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name),
  );
  const fallback = path.relative(options.outDir, onnxruntimeEntry).split(path.sep).join('/');
  const workspaceRoot = path.resolve(options.onnxruntimeFrom, '..', '..');
  const webgpuEntry = createRequire(path.join(options.webgpuFrom, 'package.json')).resolve(WEBGPU);
  const webgpuFallback = path.relative(options.outDir, webgpuEntry).split(path.sep).join('/');

  return {
    name: 'ptq-self-contained-bundle',
    setup(build) {
      build.onResolve({ filter: /^onnxruntime-node$/ }, () => ({
        path: ONNXRUNTIME,
        namespace: VIRTUAL_NAMESPACE,
      }));
      build.onLoad({ filter: /.*/, namespace: VIRTUAL_NAMESPACE }, () => ({
        resolveDir: options.outDir,
        loader: 'js',
        contents: [
          "import { createRequire } from 'node:module';",
          "import { fileURLToPath } from 'node:url';",
          'const requireHere = createRequire(import.meta.url);',
          'function loadOnnxruntime() {',
          `  try { return requireHere(${JSON.stringify(ONNXRUNTIME)}); } catch (error) {`,
          "    if (error?.code !== 'MODULE_NOT_FOUND') throw error;",
          `    return requireHere(fileURLToPath(new URL(${JSON.stringify(fallback)}, import.meta.url)));`,
          '  }',
          '}',
          'const onnxruntime = loadOnnxruntime();',
          'export default onnxruntime;',
          `export const { ${exportNames.join(', ')} } = onnxruntime;`,
        ].join('\n'),
      }));

      build.onResolve({ filter: /^webgpu$/ }, (args) =>
        args.namespace === WEBGPU_NAMESPACE
          ? { path: WEBGPU, external: true }
          : { path: WEBGPU, namespace: WEBGPU_NAMESPACE },
      );
      build.onLoad({ filter: /.*/, namespace: WEBGPU_NAMESPACE }, () => ({
        resolveDir: options.outDir,
        loader: 'js',
        contents: [
          'let webgpu;',
          `try { webgpu = await import(${JSON.stringify(WEBGPU)}); } catch (error) {`,
          "  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;",
          `  webgpu = await import(new URL(${JSON.stringify(webgpuFallback)}, import.meta.url).href);`,
          '}',
          'export const { create, globals } = webgpu;',
        ].join('\n'),
      }));

      build.onResolve({ filter: /^sharp$/ }, () => ({ path: SHARP_STUB }));

      build.onLoad({ filter: /transformers\.node\.mjs$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes(TRANSFORMERS_REQUIRE)) {
          throw new Error(
            `${args.path}: expected ${TRANSFORMERS_REQUIRE}; update the bundle plugin for this version`,
          );
        }
        return {
          loader: 'js',
          contents: `import __ptqOnnxruntime from 'onnxruntime-node';\n${source.replaceAll(TRANSFORMERS_REQUIRE, '__ptqOnnxruntime')}`,
        };
      });

      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (
          !args.path.startsWith(workspaceRoot) ||
          args.path.includes(`${path.sep}node_modules${path.sep}`)
        ) {
          return undefined;
        }
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const relative = path.relative(options.outDir, args.path).split(path.sep).join('/');
        const owner = await owningPackage(args.path, workspaceRoot);
        const inPackage = path.relative(owner.root, args.path).split(path.sep).join('/');
        return {
          loader: 'ts',
          contents: source.replaceAll(
            'import.meta.url',
            `${SOURCE_URL}(${JSON.stringify(owner.name)}, ${JSON.stringify(inPackage)}, ${JSON.stringify(relative)})`,
          ),
        };
      });
    },
  };
}

/** The workspace package a source file belongs to: its folder and name. */
async function owningPackage(file: string, workspaceRoot: string): Promise<{ root: string; name: string }> {
  let dir = path.dirname(file);
  while (dir.startsWith(workspaceRoot) && dir !== workspaceRoot) {
    try {
      const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
      };
      if (manifest.name) return { root: dir, name: manifest.name };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`${file}: no package.json with a name above it in the workspace`);
}

const SOURCE_URL = '__ptqSourceUrl';
// Defined once at the top of each bundle: the URL a workspace source file has where its package is
// installed (resolved by name from the bundle), or its place in this workspace relative to the bundle.
const SOURCE_URL_FUNCTION = [
  `function ${SOURCE_URL}(packageName, fileInPackage, fromBundle) {`,
  "  try { return new URL(fileInPackage, __ptqPathToFileURL(require.resolve(packageName + '/package.json'))).href; }",
  '  catch { return new URL(fromBundle, import.meta.url).href; }',
  '}',
].join(' ');

const WORKSPACE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * tsup options for one self-contained ESM bundle of a ptq program (the `ptq` bin, the GPT-2 app,
 * benchmarks): workspace packages from source, transformers.js inside, onnxruntime-node resolved at
 * run time (see `selfContainedBundle`).
 */
export function selfContainedOptions(options: { entry: Options['entry']; outDir: string }): Options {
  return {
    entry: options.entry,
    outDir: options.outDir,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    splitting: false,
    clean: false,
    noExternal: [/.*/],
    esbuildOptions(esbuild) {
      esbuild.conditions = ['@ptq/source'];
      // CommonJS dependencies inside an ES module bundle require node built-ins through this
      // `require`; the function locates workspace sources (see `selfContainedBundle`).
      esbuild.banner = {
        js: [
          "import { createRequire as __ptqCreateRequire } from 'node:module';",
          "import { pathToFileURL as __ptqPathToFileURL } from 'node:url';",
          'const require = __ptqCreateRequire(import.meta.url);',
          SOURCE_URL_FUNCTION,
        ].join(' '),
      };
    },
    esbuildPlugins: [
      selfContainedBundle({
        outDir: options.outDir,
        onnxruntimeFrom: path.join(WORKSPACE_ROOT, 'packages', 'onnx'),
        webgpuFrom: path.join(WORKSPACE_ROOT, 'packages', 'nanogpt'),
      }),
    ],
  };
}
