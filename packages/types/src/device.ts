/** Where a model runs; `auto` takes a GPU when one is present, else the CPU. Frozen, as every package shares it. */
export const DEVICES = Object.freeze(['auto', 'cpu', 'webgpu', 'cuda'] as const);

export type Device = (typeof DEVICES)[number];

/** A device once `auto` has been decided. */
export type ResolvedDevice = Exclude<Device, 'auto'>;
