import { namedModules } from '@ptq/module-path';
import { isReloadableTensor, releaseTensor, type Tensor } from '@ptq/tensor';

/** A module whose weights (and what it derived from them) need more than releasing its tensors. */
export interface ReleasesWeights {
  releaseWeights(): void;
}

/**
 * Releases every weight of `root`'s modules that can be read again (`ReloadableTensor`, from a model
 * loaded with `weights: 'on-demand'`), and what a module derived from them: a step that is done with
 * a part of the model calls it, and the part is read from the checkpoint again when it is next used.
 * Weights held for good (loaded in memory, or made by a step) stay.
 */
export function releaseWeights(root: object): void {
  for (const [, module] of namedModules(root)) {
    const release = (module as Partial<ReleasesWeights>).releaseWeights;
    if (typeof release === 'function') {
      release.call(module);
      continue;
    }
    for (const value of Object.values(module)) {
      if (typeof value === 'object' && value !== null) releaseTensor(value as Tensor);
    }
  }
}

/**
 * The weights read on demand (`ReloadableTensor`) that `root`'s modules hold now, as `path.name`:
 * what a step that works a part at a time left behind (empty after `releaseWeights(root)`). A
 * quantized linear's weight, behind a getter, counts too; asking reads nothing from the checkpoint.
 */
export function residentWeights(root: object): string[] {
  const held = new Set<string>();
  for (const [path, module] of namedModules(root)) {
    for (const [name, value] of [
      ...Object.entries(module),
      ['weight', (module as { weight?: unknown }).weight] as const,
    ]) {
      if (isReloadableTensor(value as Tensor) && (value as { resident: boolean }).resident) {
        held.add(path === '' ? name : `${path}.${name}`);
      }
    }
  }
  return [...held];
}
