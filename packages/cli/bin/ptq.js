#!/usr/bin/env node
// The `ptq` bin. A committed file rather than the bundle itself, so the link pnpm makes for it in this
// repository exists before the first build; the command is the bundle in dist/ (shipped in the package).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write(
    'ptq: the command is not built yet: run `pnpm build` in the ptq repository, or use `pnpm ptq`\n',
  );
  process.exit(1);
}
await import(bundle.href);
