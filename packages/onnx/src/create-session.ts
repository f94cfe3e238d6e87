import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { DEVICES, type Device, type ResolvedDevice } from '@ptq/types';
import { InferenceSession } from 'onnxruntime-node';
import { DeviceUnavailableError, OnnxSessionError } from './errors';
import { hidesSoftwareVulkanDrivers, withoutSoftwareVulkanDrivers } from './software-vulkan-drivers';
import { vulkanLoaderPresent } from './vulkan-loader';

// Defined once in @ptq/types; exported here too, where they always were.
export type { Device, ResolvedDevice };

export interface SessionHandle {
  session: InferenceSession;
  device: ResolvedDevice;
}

export interface CreateSessionOptions {
  /** Default `'auto'`: cuda, then webgpu, then cpu, with a one-line notice for each device skipped. */
  device?: Device;
  /** Merged into ptq's; `executionProviders` entries for the chosen device keep their options. */
  sessionOptions?: InferenceSession.SessionOptions;
  /** Where fallback notices go. Default `console.error`. */
  onNotice?: (message: string) => void;
}

/** The order `'auto'` tries devices in: fastest first, the CPU always last. */
export const AUTO_DEVICE_ORDER: readonly ResolvedDevice[] = ['cuda', 'webgpu', 'cpu'];

/** A one-line reason from an onnxruntime error, without its source-location preamble. */
export function summarizeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let summary = message.split('\n').find((line) => line.trim() !== '') ?? message;
  // ORT_ENFORCE messages read "<file>:<line> <function> <condition> was false. <reason>".
  const enforced = summary.lastIndexOf(' was false. ');
  if (enforced !== -1) {
    summary = summary.slice(enforced + ' was false. '.length);
  }
  summary = summary.replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '').trim();
  return summary.length > 300 ? `${summary.slice(0, 297)}...` : summary;
}

let probeModel: Uint8Array | undefined;

/** A one-node model used to test whether a device can run anything at all. */
function getProbeModel(): Uint8Array {
  if (probeModel === undefined) {
    const builder = new GraphBuilder({ name: 'ptq_device_probe', opsetImports: { '': 21 } });
    const input = builder.input('x', 'float32', [1]);
    const one = builder.constant(createTensor('float32', [1], new Float32Array([1])));
    builder.output(builder.node('Add', [input, one]), 'y', 'float32', [1]);
    probeModel = serializeModel(builder.build());
  }
  return probeModel;
}

const WITHOUT_SOFTWARE = 'without-software-drivers';
/** Probe results per device, and per whether software Vulkan drivers were hidden (under `'auto'`). */
const probes = new Map<string, Promise<string | undefined>>();

/**
 * The part of session options that sets devices up: onnxruntime's provider config entries
 * (`extra.ep`, e.g. `ep.webgpuexecutionprovider.*`). onnxruntime sets the WebGPU device up once per
 * process, from the first WebGPU session, which is the device probe: it must carry them.
 */
export function providerSettingsOf(
  sessionOptions: InferenceSession.SessionOptions = {},
): InferenceSession.SessionOptions {
  const ep = (sessionOptions.extra as Record<string, unknown> | undefined)?.ep;
  return ep === undefined ? {} : { extra: { ep } };
}

/**
 * Whether a device can create a session, tested once per process on a tiny model so that a model
 * the device cannot run is never mistaken for a missing device. Resolves to the reason it cannot.
 * With `skipSoftwareAdapters` (`'auto'`), a WebGPU adapter that a CPU emulates does not count.
 */
function probeDevice(
  device: ResolvedDevice,
  providerSettings: InferenceSession.SessionOptions,
  skipSoftwareAdapters = false,
): Promise<string | undefined> {
  const hiding = skipSoftwareAdapters && device === 'webgpu' && hidesSoftwareVulkanDrivers();
  const key = hiding ? `${device}:${WITHOUT_SOFTWARE}` : device;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = (async () => {
      if (device === 'cpu') {
        return undefined;
      }
      if (device === 'cuda' && !cudaProviderInstalled()) {
        // Probing would make onnxruntime print its own load failure on stderr; say it in one line instead.
        return 'its provider library is not installed';
      }
      if (device === 'webgpu' && !vulkanLoaderPresent()) {
        // Probing would make Dawn print a native warning on stderr; say it in one line instead.
        return 'no Vulkan loader (libvulkan.so.1) is installed';
      }
      const open = async () => {
        // A missing CUDA provider library or WebGPU adapter surfaces here as a thrown error.
        const session = await InferenceSession.create(getProbeModel(), {
          ...providerSettings,
          executionProviders: [device],
          logSeverityLevel: 4,
        });
        await session.release();
      };
      // onnxruntime sets WebGPU up once per process: after a probe that hid the software drivers,
      // they stay out of reach.
      const hiddenEarlier = device === 'webgpu' && !hiding && probes.has(`${device}:${WITHOUT_SOFTWARE}`);
      try {
        await (hiding ? withoutSoftwareVulkanDrivers(open) : open());
        return undefined;
      } catch (error) {
        const reason = summarizeError(error);
        if (hiding) return `${reason}; software Vulkan drivers do not count under auto`;
        return hiddenEarlier
          ? `${reason}; an 'auto' device choice earlier in this process skipped software Vulkan drivers, and onnxruntime sets WebGPU up once per process`
          : reason;
      }
    })();
    probes.set(key, probe);
  }
  return probe;
}

/** Whether onnxruntime-node's CUDA provider library sits beside its native binding. */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const packageRoot = dirname(require.resolve('onnxruntime-node/package.json'));
    const folder = join(packageRoot, 'bin', 'napi-v6', process.platform, process.arch);
    return (
      existsSync(join(folder, 'libonnxruntime_providers_cuda.so')) ||
      existsSync(join(folder, 'onnxruntime_providers_cuda.dll'))
    );
  } catch {
    return false;
  }
}

function providerName(entry: InferenceSession.ExecutionProviderConfig): string {
  return typeof entry === 'string' ? entry : entry.name;
}

/** The caller's session options with the execution providers narrowed to `device` (keeping its options, if given). */
export function sessionOptionsFor(
  device: ResolvedDevice,
  sessionOptions: InferenceSession.SessionOptions,
): InferenceSession.SessionOptions {
  const configured = sessionOptions.executionProviders?.find((entry) => providerName(entry) === device);
  return { ...sessionOptions, executionProviders: [configured ?? device] };
}

async function createOn(
  model: Uint8Array | string,
  device: ResolvedDevice,
  sessionOptions: InferenceSession.SessionOptions,
): Promise<InferenceSession> {
  const options = sessionOptionsFor(device, sessionOptions);
  return typeof model === 'string'
    ? InferenceSession.create(model, options)
    : InferenceSession.create(model, options);
}

/**
 * Opens an onnxruntime-node session on a device. A named device that cannot be used throws
 * `DeviceUnavailableError`; `'auto'` tries cuda, webgpu, then cpu, reporting each fallback in one
 * line. Pass a path (not bytes) for models with external data: onnxruntime finds the data file
 * beside the model.
 */
export async function createSession(
  model: Uint8Array | string,
  options: CreateSessionOptions = {},
): Promise<SessionHandle> {
  const device = options.device ?? 'auto';
  if (!DEVICES.includes(device)) {
    throw new InvalidArgumentError('device', `must be one of ${DEVICES.join(', ')}, got "${String(device)}"`);
  }
  const sessionOptions = options.sessionOptions ?? {};
  const notify = options.onNotice ?? ((message: string) => console.error(message));

  if (device !== 'auto') {
    const unavailable = await probeDevice(device, providerSettingsOf(sessionOptions));
    if (unavailable !== undefined) {
      throw new DeviceUnavailableError(device, unavailable);
    }
    try {
      return { session: await createOn(model, device, sessionOptions), device };
    } catch (error) {
      throw new OnnxSessionError(device, summarizeError(error), { cause: error });
    }
  }

  for (const [index, candidate] of AUTO_DEVICE_ORDER.entries()) {
    const next = AUTO_DEVICE_ORDER[index + 1];
    const fallback = next === 'cpu' ? 'using cpu' : `trying ${next}`;
    const unavailable = await probeDevice(candidate, providerSettingsOf(sessionOptions), true);
    if (unavailable !== undefined) {
      notify(`ptq: ${candidate} is not available (${unavailable}); ${fallback}`);
      continue;
    }
    try {
      return { session: await createOn(model, candidate, sessionOptions), device: candidate };
    } catch (error) {
      if (next === undefined) {
        throw new OnnxSessionError(candidate, summarizeError(error), { cause: error });
      }
      // The device works (its probe passed) but not for this model: an op or a size it cannot take.
      notify(`ptq: ${candidate} could not load the model (${summarizeError(error)}); ${fallback}`);
    }
  }
  // Unreachable: the CPU is last and either returns a session or throws above.
  throw new DeviceUnavailableError('cpu', 'no device could create a session');
}

/**
 * The device a program will run on, decided once before any real work: `auto` becomes the first of
 * cuda, webgpu, cpu that opens a session (one notice per device skipped); a named device that is not
 * there fails now with `DeviceUnavailableError`, rather than after loading and calibrating.
 */
export async function resolveDevice(
  device: Device = 'auto',
  options: {
    onNotice?: ((message: string) => void) | undefined;
    /** Only their provider settings are used (see `providerSettingsOf`). */
    sessionOptions?: InferenceSession.SessionOptions | undefined;
  } = {},
): Promise<ResolvedDevice> {
  if (device === 'cpu') return 'cpu';
  const { session, device: resolved } = await createSession(getProbeModel(), {
    device,
    sessionOptions: providerSettingsOf(options.sessionOptions),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  await session.release();
  return resolved;
}
