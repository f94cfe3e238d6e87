import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepStaleTemporaries, temporaryNamePid } from '@ptq/files';
import { describe, expect, it } from 'vitest';
import { temporaryFolder } from './__fixtures__/quantized-default-model';
import { ExportTargetExistsError, ExportTargetProtectedError } from './errors';
import { examineOutputFolder } from './examine-output-folder';
import { OUTPUT_MANIFEST_FILE } from './output-manifest';
import { PRODUCER } from './producer';
import { writeDirectoryAtomically } from './write-directory-atomically';

/** A folder as ptq writes it: `x.txt` and `sub/y.bin`, with its manifest. */
async function ptqOutput(target: string, content = 'x'): Promise<void> {
  await writeDirectoryAtomically(target, {}, async (temporary) => {
    await writeFile(join(temporary, 'x.txt'), content);
    await mkdir(join(temporary, 'sub'));
    await writeFile(join(temporary, 'sub', 'y.bin'), new Uint8Array(3));
  });
}

/** Every path under `folder` with file contents, to show that nothing changed. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const result: Record<string, string> = {};
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    result[path.slice(folder.length)] = entry.isFile()
      ? await readFile(path, 'utf8')
      : `<${entry.isDirectory() ? 'folder' : 'other'}>`;
  }
  return result;
}

/** Tries an overwrite that must be refused before the callback, and checks the parent is untouched. */
async function expectRefused(
  parent: string,
  target: string,
  message: string,
  extra: { protectedFolders?: string[]; workingFolder?: string } = {},
): Promise<void> {
  const before = await snapshot(parent);
  let called = false;
  const attempt = writeDirectoryAtomically(target, { overwrite: true, ...extra }, async () => {
    called = true;
  });
  await expect(attempt).rejects.toThrow(new ExportTargetProtectedError(target, message));
  await expect(attempt).rejects.toMatchObject({ code: 'PTQ_EXPORT_TARGET_PROTECTED' });
  expect(called).toBe(false);
  expect(await snapshot(parent)).toEqual(before);
}

describe('ptq-manifest.json', () => {
  it('lists every file written with its size and the producer', async () => {
    const target = join(await temporaryFolder(), 'out');
    await ptqOutput(target, 'four');
    expect(JSON.parse(await readFile(join(target, OUTPUT_MANIFEST_FILE), 'utf8'))).toEqual({
      producer: { name: 'ptq', version: PRODUCER.version },
      files: [
        { path: 'sub/y.bin', bytes: 3 },
        { path: 'x.txt', bytes: 4 },
      ],
    });
  });
});

describe('overwrite replaces only what ptq wrote', () => {
  it('replaces an earlier ptq output with overwrite, and refuses it without', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await ptqOutput(target, 'old');
    const attempt = writeDirectoryAtomically(target, {}, async () => {});
    await expect(attempt).rejects.toThrow(
      `${target}: already holds an earlier ptq output; pass overwrite: true to replace it`,
    );
    await expect(attempt).rejects.toMatchObject({ code: 'PTQ_EXPORT_TARGET_EXISTS' });
    await writeDirectoryAtomically(target, { overwrite: true }, async (temporary) => {
      await writeFile(join(temporary, 'new.txt'), 'new');
    });
    expect((await readdir(target)).sort()).toEqual(['new.txt', OUTPUT_MANIFEST_FILE]);
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('refuses a folder holding files ptq did not write, listing a few', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await mkdir(target);
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) await writeFile(join(target, name), name);
    await expectRefused(
      parent,
      target,
      'holds files ptq did not write (a.txt, b.txt, c.txt and 1 more; no ptq-manifest.json)',
    );
  });

  it('refuses a ptq output to which the user added a file, or an empty folder', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await ptqOutput(target);
    await writeFile(join(target, 'sub', 'notes.md'), 'mine');
    await expectRefused(parent, target, 'is a ptq output to which files were added (sub/notes.md)');

    const other = join(parent, 'other');
    await ptqOutput(other);
    await mkdir(join(other, 'mine'));
    await expectRefused(parent, other, 'is a ptq output to which files were added (mine)');
  });

  it('refuses a ptq output whose file was changed (size differs from the manifest)', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await ptqOutput(target);
    await writeFile(join(target, 'x.txt'), 'edited by hand');
    await expectRefused(parent, target, 'is a ptq output whose files were changed since (x.txt)');
  });

  it('refuses a manifest that is not JSON or not ptq', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await mkdir(target);
    await writeFile(join(target, OUTPUT_MANIFEST_FILE), '{');
    await expectRefused(parent, target, 'ptq-manifest.json is not valid JSON');
    await writeFile(
      join(target, OUTPUT_MANIFEST_FILE),
      JSON.stringify({ producer: { name: 'x' }, files: [] }),
    );
    await expectRefused(parent, target, 'ptq-manifest.json is not a ptq manifest');
  });

  it('refuses the working folder (even empty) and any folder holding it', async () => {
    const parent = await temporaryFolder();
    const working = join(parent, 'project', 'sub');
    await mkdir(working, { recursive: true });
    await expectRefused(parent, working, 'is the working folder', { workingFolder: working });
    await expectRefused(parent, join(parent, 'project'), `holds the working folder ${working}`, {
      workingFolder: working,
    });
  });

  it('refuses the source folder, a folder inside it and one holding it, ptq output or not', async () => {
    const parent = await temporaryFolder();
    const source = join(parent, 'models', 'gpt2');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'config.json'), '{}');
    await ptqOutput(join(source, 'int8'));
    const protectedFolders = [source];
    await expectRefused(parent, source, 'is the folder of the model being read', { protectedFolders });
    await expectRefused(
      parent,
      join(source, 'int8'),
      `is inside the folder of the model being read (${source})`,
      {
        protectedFolders,
      },
    );
    await expectRefused(
      parent,
      join(parent, 'models'),
      `holds the folder of the model being read (${source})`,
      {
        protectedFolders,
      },
    );
  });

  it('refuses a symbolic link, even to a ptq output, and a path through a link to the source', async () => {
    const parent = await temporaryFolder();
    await ptqOutput(join(parent, 'real'));
    await symlink(join(parent, 'real'), join(parent, 'link'));
    await expectRefused(
      parent,
      join(parent, 'link'),
      'is a symbolic link; ptq never replaces a link or what it points to',
    );
    // The model folder reached through a linked parent folder.
    await mkdir(join(parent, 'models', 'gpt2'), { recursive: true });
    await symlink(join(parent, 'models'), join(parent, 'alias'));
    await expectRefused(parent, join(parent, 'alias', 'gpt2'), 'is the folder of the model being read', {
      protectedFolders: [join(parent, 'models', 'gpt2')],
    });
  });

  it('refuses a file in place of the folder', async () => {
    const parent = await temporaryFolder();
    await writeFile(join(parent, 'out'), 'precious');
    await expectRefused(parent, join(parent, 'out'), 'exists and is not a folder');
  });

  it('accepts an empty folder and an absent one', async () => {
    const parent = await temporaryFolder();
    await mkdir(join(parent, 'empty'));
    expect(await examineOutputFolder(join(parent, 'empty'))).toEqual({ kind: 'empty' });
    expect(await examineOutputFolder(join(parent, 'absent'))).toEqual({ kind: 'absent' });
    await ptqOutput(join(parent, 'empty'));
    expect(await examineOutputFolder(join(parent, 'empty'))).toEqual({ kind: 'previous-output' });
  });

  it('is an ExportTargetExistsError, as callers that catch that expect', () => {
    expect(new ExportTargetProtectedError('/x', 'why')).toBeInstanceOf(ExportTargetExistsError);
  });
});

describe('stale temporaries', () => {
  /** The pid of a process that has exited. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', '']);
    return child.pid ?? 0;
  }

  it('reads the pid of ptq temporary names only', () => {
    expect(temporaryNamePid('.out.tmp-1234-0a1b2c3d')).toBe(1234);
    expect(temporaryNamePid('.my model.tmp-7-ffffffff')).toBe(7);
    for (const name of [
      'out.tmp-1234-0a1b2c3d',
      '.out.tmp-12x-0a1b2c3d',
      '.out.tmp-1234-0a1b2c3',
      '.out.old-1234-0a1b2c3d',
      '.out.tmp-1234-0a1b2c3d.bak',
    ]) {
      expect(temporaryNamePid(name)).toBeUndefined();
    }
  });

  it('are swept on the next write to the same parent, and nothing else is', async () => {
    const parent = await temporaryFolder();
    const dead = deadPid();
    const stale = `.out.tmp-${dead}-deadbeef`;
    await mkdir(join(parent, stale));
    await writeFile(join(parent, stale, 'model.safetensors'), new Uint8Array(100));
    const kept = [
      `.other.tmp-${process.pid}-0a1b2c3d`, // a write of a live process
      `.out.tmp-${dead}-keep`, // not a ptq name
      `.out.old-${dead}-deadbeef`, // may be the only copy of a replaced folder
      'user-folder',
    ];
    for (const name of kept) await mkdir(join(parent, name));
    await writeFile(join(parent, `.file.tmp-${dead}-deadbeef`), 'a file, not a ptq folder');
    kept.push(`.file.tmp-${dead}-deadbeef`);
    await writeDirectoryAtomically(join(parent, 'out'), {}, async () => {});
    expect((await readdir(parent)).sort()).toEqual([...kept, 'out'].sort());
  });

  it('sweepStaleTemporaries returns what it removed', async () => {
    const parent = await temporaryFolder();
    const name = `.a.tmp-${deadPid()}-00000000`;
    await mkdir(join(parent, name));
    expect(await sweepStaleTemporaries(parent)).toEqual([name]);
    expect(await readdir(parent)).toEqual([]);
  });
});
