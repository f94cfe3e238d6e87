import { namedModules } from '@ptq/module-path';
import { releaseTensor, type Tensor } from '@ptq/tensor';

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
