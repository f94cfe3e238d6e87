import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { type FakeHubRepo, toFakeRepo } from './fake-repo';

export interface PopulatedRepo {
  /** The commit the files were written under (`snapshots/<commit>`). */
  commit: string;
  /** `<cacheDir>/models--owner--name` or `datasets--…`. */
  folder: string;
}

/**
 * Writes repos into `cacheDir` the way Python `huggingface_hub` leaves them after a download:
 * `blobs/<etag>` (sha256 for `Uint8Array` files, git blob sha1 for strings), relative symlinks
 * `snapshots/<commit>/<path>` → blob, and `refs/<revision>` holding the commit. The commit is the one
 * `startFakeHub` would report for the same repo description.
 */
export async function populateHubCache(
  cacheDir: string,
  repos: Record<string, FakeHubRepo>,
): Promise<Record<string, PopulatedRepo>> {
  const populated: Record<string, PopulatedRepo> = {};
  for (const [id, description] of Object.entries(repos)) {
    const repo = toFakeRepo(id, description);
    const folder = join(cacheDir, [`${repo.type}s`, ...id.split('/')].join('--'));
    for (const file of repo.files.values()) {
      const blob = join(folder, 'blobs', file.lfs?.oid ?? file.oid);
      const pointer = join(folder, 'snapshots', repo.commit, ...file.path.split('/'));
      await mkdir(dirname(blob), { recursive: true });
      await mkdir(dirname(pointer), { recursive: true });
      await writeFile(blob, file.bytes);
      await symlink(relative(dirname(pointer), blob), pointer);
    }
    const ref = join(folder, 'refs', ...repo.revision.split('/'));
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, repo.commit);
    populated[id] = { commit: repo.commit, folder };
  }
  return populated;
}
