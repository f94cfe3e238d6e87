import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, PtqError } from '@ptq/errors';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSession, providerSettingsOf, sessionOptionsFor, summarizeError } from './create-session';
import { DeviceUnavailableError, OnnxSessionError } from './errors';
import { fromOrtTensor, toOrtTensor } from './ort-tensor';
import { hidesSoftwareVulkanDrivers } from './software-vulkan-drivers';
import { vulkanLoaderPresent } from './vulkan-loader';

const require = createRequire(import.meta.url);
const bindingDirectory = join(
  dirname(require.resolve('onnxruntime-node/package.json')),
  'bin/napi-v6/linux/x64',
);
/** The npm package ships without the CUDA provider; it is only there when someone installed it. */
const cudaInstalled = existsSync(join(bindingDirectory, 'libonnxruntime_providers_cuda.so'));

function doublingModel(): Uint8Array {
  const builder = new GraphBuilder({ name: 'double' });
  const x = builder.input('x', 'float32', [2]);
  builder.output(builder.node('Add', [x, x]), 'y', 'float32', [2]);
  return serializeModel(builder.build());
}

async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    expect(PtqError.isInstance(error)).toBe(true);
    return error as T;
  }
  throw new Error(`expected ${type.name}`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createSession', () => {
  it('opens a working session on the CPU when asked', async () => {
    const notices: string[] = [];
    const { session, device } = await createSession(doublingModel(), {
      device: 'cpu',
      onNotice: (line) => notices.push(line),
    });
    expect(device).toBe('cpu');
    const { y } = await session.run({
      x: toOrtTensor(createTensor('float32', [2], new Float32Array([1.5, -4]))),
    });
    expect([...fromOrtTensor(y!).data]).toEqual([3, -8]);
    expect(notices).toEqual([]);
    await session.release();
  });

  it.runIf(!cudaInstalled)(
    'throws DeviceUnavailableError for cuda when its provider library is absent',
    async () => {
      const error = await expectRejection(
        createSession(doublingModel(), { device: 'cuda' }),
        DeviceUnavailableError,
      );
      expect(error.code).toBe('PTQ_DEVICE_UNAVAILABLE');
      expect(error.device).toBe('cuda');
      expect(error.message).toBe('Device "cuda" is not available: its provider library is not installed');
    },
  );

  it('falls back from cuda through webgpu to cpu on auto, one notice per device skipped', async () => {
    const notices: string[] = [];
    const { session, device } = await createSession(doublingModel(), {
      onNotice: (line) => notices.push(line),
    });
    const order = ['cuda', 'webgpu', 'cpu'];
    expect(notices).toHaveLength(order.indexOf(device));
    if (!cudaInstalled) {
      expect(notices[0]).toBe(
        'ptq: cuda is not available (its provider library is not installed); trying webgpu',
      );
    }
    if (device === 'cpu') {
      expect(notices[1]).toMatch(/^ptq: webgpu is not available \(.+\); using cpu$/);
      expect(notices[1]).not.toContain('\n');
      if (!vulkanLoaderPresent()) {
        // No Vulkan loader: said in one line, without probing (which would print Dawn's warning).
        expect(notices[1]).toBe(
          'ptq: webgpu is not available (no Vulkan loader (libvulkan.so.1) is installed); using cpu',
        );
      } else if (hidesSoftwareVulkanDrivers()) {
        // A CPU-emulated adapter (lavapipe) never counts as the GPU 'auto' looks for.
        expect(notices[1]).toContain('; software Vulkan drivers do not count under auto)');
      }
    }
    const { y } = await session.run({
      x: toOrtTensor(createTensor('float32', [2], new Float32Array([1, 2]))),
    });
    expect([...fromOrtTensor(y!).data]).toEqual([2, 4]);
    await session.release();
  });

  it('names webgpu and its cause when it is asked for and cannot be used', async () => {
    const { session, device } = await createSession(doublingModel(), { onNotice: () => {} });
    await session.release();
    if (device !== 'cpu') {
      return; // This machine has a GPU: webgpu works, nothing to refuse.
    }
    const error = await expectRejection(
      createSession(doublingModel(), { device: 'webgpu' }),
      DeviceUnavailableError,
    );
    expect(error.device).toBe('webgpu');
    expect(error.message).toMatch(/^Device "webgpu" is not available: .+/);
    if (!vulkanLoaderPresent()) {
      expect(error.message).toBe(
        'Device "webgpu" is not available: no Vulkan loader (libvulkan.so.1) is installed',
      );
    } else if (hidesSoftwareVulkanDrivers()) {
      // The 'auto' choice above set WebGPU up without software drivers, for the whole process.
      expect(error.message).toContain(
        "an 'auto' device choice earlier in this process skipped software Vulkan drivers",
      );
    }
  });

  it('writes notices to stderr by default', async () => {
    const errorOutput = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { session, device } = await createSession(doublingModel());
    await session.release();
    expect(errorOutput).toHaveBeenCalledTimes(['cuda', 'webgpu', 'cpu'].indexOf(device));
    for (const [line] of errorOutput.mock.calls) {
      expect(line).toMatch(/^ptq: (cuda|webgpu) is not available \(.+\); (trying webgpu|using cpu)$/);
    }
  });

  it('wraps a model onnxruntime refuses in OnnxSessionError, on a named device and on auto', async () => {
    const garbage = new Uint8Array([1, 2, 3, 4]);
    const named = await expectRejection(createSession(garbage, { device: 'cpu' }), OnnxSessionError);
    expect(named.code).toBe('PTQ_ONNX_SESSION');
    expect(named.message).toMatch(/^onnxruntime could not create a session on cpu: .+/);
    expect(named.cause).toBeInstanceOf(Error);
    const automatic = await expectRejection(createSession(garbage, { onNotice: () => {} }), OnnxSessionError);
    expect(automatic.device).toBe('cpu');
  });

  it('rejects a device it does not know', async () => {
    const error = await expectRejection(
      createSession(doublingModel(), { device: 'tpu' as never }),
      InvalidArgumentError,
    );
    expect(error.message).toBe(
      'Invalid argument "device": must be one of auto, cpu, webgpu, cuda, got "tpu"',
    );
  });
});

describe('sessionOptionsFor', () => {
  it('keeps the caller options and narrows execution providers to the device, with its options', () => {
    const options = sessionOptionsFor('webgpu', {
      graphOptimizationLevel: 'extended',
      executionProviders: ['cuda', { name: 'webgpu', preferredLayout: 'NHWC' }],
      logSeverityLevel: 3,
    });
    expect(options).toEqual({
      graphOptimizationLevel: 'extended',
      executionProviders: [{ name: 'webgpu', preferredLayout: 'NHWC' }],
      logSeverityLevel: 3,
    });
    expect(sessionOptionsFor('cpu', {})).toEqual({ executionProviders: ['cpu'] });
  });
});

describe('providerSettingsOf', () => {
  it('keeps only the provider config entries, which the device probe carries', () => {
    const ep = { webgpuexecutionprovider: { validationMode: 'disabled' } };
    expect(
      providerSettingsOf({
        enableProfiling: true,
        preferredOutputLocation: 'gpu-buffer',
        extra: { ep, session: { intra_op: { allow_spinning: '0' } } },
      }),
    ).toEqual({ extra: { ep } });
    expect(providerSettingsOf({ extra: { session: {} } })).toEqual({});
    expect(providerSettingsOf()).toEqual({});
  });
});

describe('summarizeError', () => {
  it.each([
    [
      new Error(
        '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters',
      ),
      'Failed to get a WebGPU adapter: No supported adapters',
    ],
    [new Error('[ONNXRuntimeError] : 1 : FAIL : Load model failed\nstack line'), 'Load model failed'],
    ['plain text', 'plain text'],
    [new Error('x'.repeat(400)), `${'x'.repeat(297)}...`],
  ])('%#', (error, summary) => {
    expect(summarizeError(error)).toBe(summary);
  });
});
