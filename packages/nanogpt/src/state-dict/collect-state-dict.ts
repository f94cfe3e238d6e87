import { namedModules } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';
import { ParameterModule } from '../modules/parameters';

/** Where a state-dict key lives in the module tree. */
export interface ParameterSlot {
  readonly module: ParameterModule;
  readonly name: string;
  readonly tensor: Tensor;
}

/** Every parameter of the tree under `root`, keyed `<module path>.<name>`, in module order. */
export function collectParameterSlots(root: object): Map<string, ParameterSlot> {
  const slots = new Map<string, ParameterSlot>();
  for (const [path, module] of namedModules(root)) {
    if (!ParameterModule.isParameterModule(module)) continue;
    for (const name of module.parameterNames()) {
      const key = path === '' ? name : `${path}.${name}`;
      slots.set(key, { module, name, tensor: module.getParameter(name) });
    }
  }
  return slots;
}

/** The state dict of the tree under `root`: parameter tensors keyed by path, shared tensors under each key. */
export function collectStateDict(root: object): Map<string, Tensor> {
  const stateDict = new Map<string, Tensor>();
  for (const [key, slot] of collectParameterSlots(root)) {
    stateDict.set(key, slot.tensor);
  }
  return stateDict;
}
