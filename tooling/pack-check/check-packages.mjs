// `pnpm check:packages`: packs every publishable workspace package with `pnpm pack` and checks that the
// tarballs work on their own, offline:
//
// 1. each packed manifest has no `workspace:` range left, and its @ptq dependencies name the versions
//    of the sibling tarballs (so npm, given the tarballs together, takes them and not the registry);
// 2. every `exports`, `types` and `bin` target, and every relative import in the published JavaScript
//    and declarations, exists in the tarball; every bare import is a declared dependency;
// 3. publint finds no error or warning;
// 4. installed as npm lays out a flat install (each tarball unpacked into `node_modules/@ptq/<name>`),
//    with the third-party dependencies linked from this workspace's install because the registry is
//    not reachable offline, every package imports in a plain Node project; installed as
//    `npm install -g @ptq/cli` nests its dependencies, the `ptq` bin runs: `--help`, then quantize
//    (fp8, so the bundled calibration data is read), inspect and generate on the bundled model;
//    importing @ptq/onnx-format opens no native module (onnxruntime-node's binding).
//
// What this cannot check offline: that the registry serves the third-party versions (the lockfile pins
// them) and npm's own resolution of them.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'ptq-pack-check-'));
// A Set: one import repeated in a file is one problem.
const problems = new Set();
const started = performance.now();

function problem(packageName, message) {
  problems.add(`${packageName}: ${message}`);
}

function log(message) {
  process.stdout.write(`${message}\n`);
}

/** Publishable workspace packages: every workspace package.json without `private: true`. */
function publishablePackages() {
  const found = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const groupDir = path.join(root, group);
    for (const name of readdirSync(groupDir)) {
      const manifestFile = path.join(groupDir, name, 'package.json');
      if (!existsSync(manifestFile)) continue;
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
      if (!manifest.private) found.push({ dir: path.join(groupDir, name), manifest });
    }
  }
  return found;
}

/** Every string target in an `exports` value, with the condition path that leads to it. */
function exportTargets(value, trail = []) {
  if (typeof value === 'string') return [{ trail, target: value }];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => exportTargets(inner, [...trail, key]));
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

// Import specifiers as tsup/esbuild and tsc write them: `from '…'`, `import '…'`, `import('…')`,
// `require('…')`. The bundled bin is left out of this scan (see below).
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;
// Written at the top of every bundle tooling/bundle makes.
const SELF_CONTAINED_MARKER = 'const require = __ptqCreateRequire(import.meta.url);';
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

function bareName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Static checks of one unpacked tarball (`packageDir` is its `package/` folder). */
function checkContents(packageDir, manifest, versions) {
  const name = manifest.name;
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problem(name, `${field}.${dependency} is still "${range}"`);
      if (field !== 'devDependencies' && versions.has(dependency) && range !== versions.get(dependency)) {
        problem(
          name,
          `${field}.${dependency} is "${range}", the packed sibling is ${versions.get(dependency)}`,
        );
      }
    }
  }

  const targets = [
    ...exportTargets(manifest.exports ?? {}).map(({ trail, target }) => ({
      field: `exports[${trail.map((key) => JSON.stringify(key)).join('][')}]`,
      target,
    })),
    ...['main', 'module', 'types', 'typings']
      .filter((field) => typeof manifest[field] === 'string')
      .map((field) => ({ field, target: manifest[field] })),
    ...Object.entries(typeof manifest.bin === 'string' ? { bin: manifest.bin } : (manifest.bin ?? {})).map(
      ([command, target]) => ({ field: `bin.${command}`, target }),
    ),
  ];
  for (const { field, target } of targets) {
    if (target.includes('*')) continue;
    if (!existsSync(path.join(packageDir, target)))
      problem(name, `${field} → ${target} is not in the tarball`);
  }

  const binTargets = new Set(
    Object.values(typeof manifest.bin === 'string' ? { bin: manifest.bin } : (manifest.bin ?? {})).map(
      (target) => path.join(packageDir, target),
    ),
  );
  for (const file of listFiles(packageDir)) {
    const published = file.includes(`${path.sep}dist${path.sep}`) || binTargets.has(file);
    if (!published || !/\.(?:m?js|d\.m?ts)$/.test(file)) continue;
    const source = readFileSync(file, 'utf8');
    // A self-contained bundle (the `ptq` bin) carries its dependencies' code, strings and comments
    // included; its only package import (onnxruntime-node) is a run-time require checked by running it.
    if (source.includes(SELF_CONTAINED_MARKER)) continue;
    for (const match of source.matchAll(SPECIFIER)) {
      const specifier = match[2];
      const where = path.relative(packageDir, file);
      if (specifier.startsWith('.')) {
        const resolved = path.resolve(path.dirname(file), specifier);
        const candidates = [resolved, `${resolved}.js`, `${resolved}.d.ts`, path.join(resolved, 'index.js')];
        if (!candidates.some((candidate) => existsSync(candidate) && statSync(candidate).isFile())) {
          problem(name, `${where} imports ${specifier}, which is not in the tarball`);
        }
      } else if (
        !BUILTINS.has(specifier) &&
        !declared.has(bareName(specifier)) &&
        bareName(specifier) !== name
      ) {
        problem(name, `${where} imports ${specifier}, which is not among its dependencies`);
      }
    }
  }
}

/** Folder a third-party dependency is installed at in this workspace, as seen from `fromDir`. */
function workspaceCopy(dependency, fromDir) {
  const require = createRequire(path.join(fromDir, 'package.json'));
  try {
    return path.dirname(realpathSync(require.resolve(`${dependency}/package.json`)));
  } catch {
    // Packages whose exports hide package.json: walk up from the entry point to its package root.
    let dir = path.dirname(realpathSync(require.resolve(dependency)));
    while (!existsSync(path.join(dir, 'package.json')) || !dir.endsWith(dependency.split('/').at(-1))) {
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`cannot find the installed ${dependency} from ${fromDir}`);
      dir = parent;
    }
    return dir;
  }
}

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

try {
  const packages = publishablePackages();
  const versions = new Map(packages.map(({ manifest }) => [manifest.name, manifest.version]));

  // 1. Pack, as `pnpm publish` would (workspace: ranges rewritten, `files` applied).
  const tarballDir = path.join(work, 'tarballs');
  mkdirSync(tarballDir);
  execFileSync(
    'pnpm',
    [
      ...packages.flatMap(({ manifest }) => ['--filter', manifest.name]),
      'pack',
      '--pack-destination',
      tarballDir,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );

  const unpacked = [];
  for (const { dir, manifest } of packages) {
    const tarball = path.join(
      tarballDir,
      `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`,
    );
    if (!existsSync(tarball)) {
      problem(manifest.name, `pnpm pack wrote no ${path.basename(tarball)}`);
      continue;
    }
    const extractDir = path.join(work, 'unpacked', manifest.name);
    mkdirSync(extractDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', extractDir]);
    const packageDir = path.join(extractDir, 'package');
    const packed = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    unpacked.push({ sourceDir: dir, packageDir, manifest: packed, size: statSync(tarball).size });

    // 2. Contents.
    checkContents(packageDir, packed, versions);

    // 3. publint, on the unpacked tarball (every file in it is published).
    const { messages } = await publint({ pkgDir: packageDir, pack: false, level: 'warning' });
    for (const message of messages) {
      problem(manifest.name, `publint ${message.type}: ${formatMessage(message, packed) ?? message.code}`);
    }
  }

  // 4a. A project with every tarball installed side by side, as npm lays out a flat install (and as
  // `npm install -g` of all the tarballs together does): every package imports by name.
  const byName = new Map(unpacked.map((entry) => [entry.manifest.name, entry]));
  const thirdParty = new Map();
  for (const { sourceDir, manifest } of unpacked) {
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      if (!versions.has(dependency) && !thirdParty.has(dependency)) {
        thirdParty.set(dependency, workspaceCopy(dependency, sourceDir));
      }
    }
  }
  /** Copies the named tarballs into `modules` and links the third-party dependencies they declare. */
  function install(modules, names) {
    const linked = new Set();
    for (const name of names) {
      const { packageDir, manifest } = byName.get(name);
      cpSync(packageDir, path.join(modules, name), { recursive: true });
      for (const dependency of Object.keys(manifest.dependencies ?? {})) {
        if (versions.has(dependency) || linked.has(dependency)) continue;
        linked.add(dependency);
        mkdirSync(path.dirname(path.join(modules, dependency)), { recursive: true });
        symlinkSync(thirdParty.get(dependency), path.join(modules, dependency), 'dir');
      }
    }
  }
  const project = path.join(work, 'project');
  mkdirSync(project);
  writeFileSync(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: 'pack-check-project', private: true, type: 'module' }, null, 2)}\n`,
  );
  const names = [...byName.keys()];
  install(path.join(project, 'node_modules'), names);
  // Nothing may come from this workspace but those links: no HF cache, no network.
  const environment = {
    ...process.env,
    HF_HOME: path.join(work, 'hf-home'),
    HF_HUB_CACHE: path.join(work, 'hf-home', 'hub'),
    HF_HUB_OFFLINE: '1',
    NODE_PATH: '',
  };
  const importCheck = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `for (const name of ${JSON.stringify(names)}) {
         const module = await import(name);
         if (Object.keys(module).length === 0) throw new Error(name + ' exports nothing');
         const resolved = import.meta.resolve(name);
         if (!resolved.includes('/node_modules/')) throw new Error(name + ' resolved outside node_modules: ' + resolved);
       }`,
    ],
    { cwd: project, env: environment },
  );
  if (importCheck.status !== 0) problem('import', importCheck.output);

  // 4a'. @ptq/onnx-format is the ONNX format without the runtime: importing it opens no native module.
  // Every native addon (onnxruntime-node's binding among them) goes through process.dlopen; @ptq/onnx,
  // which does load it, shows the probe sees it.
  const nativeModulesOpenedBy = (name) => {
    const probe = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const opened = [];
         const dlopen = process.dlopen;
         process.dlopen = function (module, filename, ...rest) {
           opened.push(filename);
           return dlopen.call(this, module, filename, ...rest);
         };
         await import(${JSON.stringify(name)});
         console.log(JSON.stringify(opened));`,
      ],
      { cwd: project, env: environment },
    );
    if (probe.status !== 0) {
      problem(name, `importing it failed: ${probe.output}`);
      return undefined;
    }
    return JSON.parse(probe.output.split('\n').at(-1));
  };
  const formatOpened = nativeModulesOpenedBy('@ptq/onnx-format');
  if (formatOpened !== undefined && formatOpened.length > 0) {
    problem('@ptq/onnx-format', `importing it opened native modules: ${formatOpened.join(', ')}`);
  }
  const runtimeOpened = nativeModulesOpenedBy('@ptq/onnx');
  if (runtimeOpened !== undefined && !runtimeOpened.some((file) => file.includes('onnxruntime'))) {
    problem(
      '@ptq/onnx',
      'importing it opened no onnxruntime binding, so the native-module probe sees nothing',
    );
  }

  // 4b. The bin as `npm install -g @ptq/cli` lays it out: the @ptq packages it needs nested in its own
  // node_modules, none beside it. It must find the bundled model and calibration data there.
  const cli = byName.get('@ptq/cli');
  const ptqTarget = cli?.manifest.bin?.ptq;
  if (!ptqTarget) {
    problem('@ptq/cli', 'has no `ptq` bin');
  } else {
    const needed = new Set();
    const visit = (name) => {
      for (const dependency of Object.keys(byName.get(name).manifest.dependencies ?? {})) {
        if (versions.has(dependency) && !needed.has(dependency)) {
          needed.add(dependency);
          visit(dependency);
        }
      }
    };
    visit('@ptq/cli');
    const globalModules = path.join(work, 'global', 'lib', 'node_modules');
    install(globalModules, ['@ptq/cli']);
    install(path.join(globalModules, '@ptq', 'cli', 'node_modules'), [...needed]);
    const ptq = path.join(globalModules, '@ptq', 'cli', ptqTarget);
    const out = path.join(project, 'float8');
    const steps = [
      ['--help'],
      ['quantize', '--mode', 'float8', '--calib-size', '2', '--device', 'cpu', '--out', out, '--quiet'],
      ['inspect', out],
      [
        'generate',
        '--model',
        out,
        '--device',
        'cpu',
        '--max-new-tokens',
        '4',
        '--input-text',
        'It was',
        '--quiet',
      ],
    ];
    for (const args of steps) {
      const result = run(process.execPath, [ptq, ...args], { cwd: project, env: environment });
      if (result.status !== 0) {
        problem('@ptq/cli', `ptq ${args.join(' ')} exited with ${result.status}:\n${result.output}`);
        break;
      }
    }
  }

  for (const { manifest, size } of unpacked) {
    log(`${manifest.name.padEnd(22)} ${(size / 1e6).toFixed(2).padStart(6)} MB packed`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (problems.size === 0) {
    log(
      `${unpacked.length} packages packed and checked (contents, publint), installed from the tarballs ` +
        `and imported; the packed ptq bin ran (${seconds} s)`,
    );
  }
} catch (error) {
  problems.add(String(error?.stack ?? error));
} finally {
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (problems.size > 0) {
  process.stderr.write(
    `check:packages found ${problems.size} problem(s):\n${[...problems].map((line) => `- ${line}`).join('\n')}\n`,
  );
  process.exitCode = 1;
}
