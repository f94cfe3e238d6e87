import packageJson from '../package.json' with { type: 'json' };

/** Written as `producer` into the configs of every export, as ModelOpt writes its own name and version. */
export const PRODUCER = { name: 'ptq', version: packageJson.version } as const;
