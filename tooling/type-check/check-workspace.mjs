// `pnpm type-check`: type-checks every workspace package, each with its own tsconfig.json, in one
// TypeScript program. A package's tsconfig reaches its dependencies' sources through the
// `@ptq/source` condition, so `tsc` run package by package checks the shared packages again for every
// dependent; one program checks each file once. Packages whose compiler options differ from the
// others' get a program of their own. Diagnostics are gathered in the order `tsc --noEmit` gathers
// them. `pnpm --filter @ptq/<name> type-check` still checks one package alone.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKSPACE_FOLDERS = ['packages', 'apps', 'tooling'];

function packageConfigs() {
  const configs = [];
  for (const folder of WORKSPACE_FOLDERS) {
    const parent = path.join(root, folder);
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      const config = path.join(parent, entry.name, 'tsconfig.json');
      if (entry.isDirectory() && existsSync(config)) configs.push(config);
    }
  }
  return configs.sort();
}

const configErrors = [];
const host = {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => configErrors.push(diagnostic),
};

/** Packages grouped by identical compiler options: one program per group. */
const groups = new Map();
for (const config of packageConfigs()) {
  const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, host);
  if (parsed === undefined) continue;
  configErrors.push(...parsed.errors);
  const { configFilePath: _configFilePath, ...options } = parsed.options;
  const key = JSON.stringify(options);
  const group = groups.get(key) ?? { options: parsed.options, files: new Set(), configs: [] };
  for (const file of parsed.fileNames) group.files.add(file);
  group.configs.push(path.relative(root, config));
  groups.set(key, group);
}

function diagnosticsOf(program, options) {
  const found = [...program.getSyntacticDiagnostics()];
  if (found.length > 0) return found;
  found.push(...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics());
  if (found.length > 0) return found;
  found.push(...program.getSemanticDiagnostics());
  if (found.length === 0 && options.noEmit && (options.declaration || options.composite)) {
    found.push(...program.getDeclarationDiagnostics());
  }
  return found;
}

const diagnostics = [...configErrors];
for (const { options, files } of groups.values()) {
  const program = ts.createProgram({ rootNames: [...files], options });
  diagnostics.push(...diagnosticsOf(program, options));
}

const formatHost = {
  getCanonicalFileName: (fileName) => fileName,
  getCurrentDirectory: () => root,
  getNewLine: () => ts.sys.newLine,
};
if (diagnostics.length > 0) {
  const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  process.stdout.write(format(diagnostics, formatHost));
  process.stdout.write(`\nFound ${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}.\n`);
  process.exitCode = 1;
} else {
  const packages = [...groups.values()].reduce((count, group) => count + group.configs.length, 0);
  const programs = groups.size;
  process.stdout.write(
    `type-check: ${packages} packages, no errors (${programs} program${programs === 1 ? '' : 's'})\n`,
  );
}
