/**
 * `--quiet`: onnxruntime logs only errors (its default logs warnings, such as nodes placed on the CPU
 * by a GPU provider). It must be set before the first session: onnxruntime reads it once per process.
 * Dawn, under onnxruntime's WebGPU provider, writes its own warnings ("Couldn't load Vulkan") to the
 * process's stderr directly, past any logger; those still show.
 */
export async function onnxruntimeErrorsOnly(): Promise<void> {
  const { env } = await import('onnxruntime-node');
  env.logLevel = 'error';
}
