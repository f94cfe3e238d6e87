import { describe, expect, it } from 'vitest';
import { withUnpackedWeights } from './unpacked-weights';

describe('withUnpackedWeights', () => {
  it('turns prepacking off and keeps every other option, provider settings included', () => {
    const options = withUnpackedWeights({
      logSeverityLevel: 3,
      extra: { ep: { webgpuexecutionprovider: { preferredLayout: 'NHWC' } }, session: { intra_op_x: '2' } },
    });
    expect(options).toEqual({
      logSeverityLevel: 3,
      extra: {
        ep: { webgpuexecutionprovider: { preferredLayout: 'NHWC' } },
        session: { intra_op_x: '2', disable_prepacking: '1' },
      },
    });
    expect(withUnpackedWeights()).toEqual({ extra: { session: { disable_prepacking: '1' } } });
  });
});
