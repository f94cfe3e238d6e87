import { afterAll, describe, expect, it } from 'vitest';
import { testKernelDevice } from '../__fixtures__/kernel-adapter-problem';
import { DawnCompute } from './dawn-compute';

const { found, problem } = await testKernelDevice('DawnCompute tests');
afterAll(() => found?.device.destroy());

/** A shader writing its uniform's value into every element; `variant` makes its code (and pipeline) new. */
function fillShader(variant: string): string {
  return `// ${variant}
struct Fill { value: f32, count: u32 }
@group(0) @binding(0) var<uniform> fill: Fill;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < fill.count) { values[id.x] = fill.value; }
}`;
}

function fillUniform(value: number, count: number): ArrayBuffer {
  const bytes = new ArrayBuffer(8);
  new DataView(bytes).setFloat32(0, value, true);
  new DataView(bytes).setUint32(4, count, true);
  return bytes;
}

describe.skipIf(problem !== undefined)('DawnCompute', () => {
  it('keeps every submission whole while reads finish around one still waiting for its shader', async () => {
    const { device } = found!;
    const errors: string[] = [];
    device.onuncapturederror = (event) => errors.push(event.error.message);
    const compute = new DawnCompute(device);
    try {
      const count = 256;
      const ready = fillShader('compiled first');
      const [first, second, late] = [0, 1, 2].map(() => compute.buffer(4 * count, 'a test buffer'));
      compute.dispatch(ready, fillUniform(0, count), [first!], [count / 64]);
      await compute.submit();
      // Two reads and, between their submissions and their results, a dispatch whose shader is not
      // compiled yet: its submission waits for the shader while the reads complete.
      compute.dispatch(ready, fillUniform(1, count), [first!], [count / 64]);
      const firstRead = compute.readMany([{ buffer: first!, floats: count }]);
      compute.dispatch(ready, fillUniform(2, count), [second!], [count / 64]);
      const secondRead = compute.readMany([{ buffer: second!, floats: count }]);
      compute.dispatch(
        fillShader(`compiled late ${Math.random()}`),
        fillUniform(3, count),
        [late!],
        [count / 64],
      );
      const lateFlush = compute.flush();
      const [[one], [two]] = await Promise.all([firstRead, secondRead, lateFlush]);
      const [three] = await compute.readMany([{ buffer: late!, floats: count }]);
      expect([one![0], one![count - 1], two![0], two![count - 1]]).toEqual([1, 1, 2, 2]);
      expect([three![0], three![count - 1]]).toEqual([3, 3]);
      expect(errors).toEqual([]);
    } finally {
      compute.destroy();
      device.onuncapturederror = null;
    }
  });
});
