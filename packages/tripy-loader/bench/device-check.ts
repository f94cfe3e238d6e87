// The runtime checks on a chosen device (meant for WebGPU on a GPU machine): for each mode and dtype,
// quantize the default model, load it into the runtime GPT, compile it on the device and compare its
// logits with the PyTorch fake-quant reference; also the HF model's logits against transformers and
// an int4 greedy generation. Prints a table and writes JSON.
//
// Calibration runs on the CPU, whose activations (and so amax and float8 input scales) match the
// reference's bit for bit, so each row measures the runtime on the device; one more row calibrates
// float8 on the device too: input scales a few 1e-7 off move the odd activation to the next float8
// value, which the logits show.
import { join } from 'node:path';
import {
  DEFAULT_MODEL_DIR,
  FAKE_QUANT_LOGITS_FILE,
  REFERENCE_DIR,
  readModelOptReference,
  readTransformersReference,
} from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { compile, GPT, generate, MODEL_DTYPES, type ModelDType } from '@ptq/nanogpt';
import { QUANT_MODES, type QuantMode } from '@ptq/quant-core';
import { openSafetensors } from '@ptq/safetensors';
import { createTensor } from '@ptq/tensor';
import type { Device } from '@ptq/types';
import { flag, machine, printTable, writeJson } from '../../../tooling/bench/report';
import { gptConfigFromHf, loadQuantWeightsFromHf } from '../src/index';

const device = flag('device', 'webgpu') as Device;
const out = flag('out', 'bench-results/device-check.json');
const quiet = { log: () => {}, onNotice: () => {} };
const modelOpt = await readModelOptReference();
const transformers = await readTransformersReference();
const logitsFile = await openSafetensors(join(REFERENCE_DIR, FAKE_QUANT_LOGITS_FILE));
const ids = modelOpt.logitPromptIds;
const input = createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt));
const mask = createTensor('int64', [1, ids.length], new BigInt64Array(ids.length).fill(1n));
const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index]! - b[index]!));
  return worst;
};

const rows: (string | number)[][] = [];
const results: Record<string, unknown>[] = [];

const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device, onNotice: (line) => console.error(line) });
const transformersLogits = await openSafetensors(join(REFERENCE_DIR, transformers.logitsFile));
const prompt = transformers.inputIds[0]!;
const hfLogits = await hf.forward(
  createTensor('int64', [1, prompt.length], BigInt64Array.from(prompt, BigInt)),
  createTensor('int64', [1, prompt.length], new BigInt64Array(prompt.length).fill(1n)),
);
const hfDifference = maxDifference(
  hfLogits.logits!.data,
  (await transformersLogits.readTensor(transformers.logitsKeys[0]!)).data as Float32Array,
);
rows.push(['HF model vs transformers', 'float32', hf.device ?? device, hfDifference]);
results.push({ check: 'hf-vs-transformers', device: hf.device, maxAbsDifference: hfDifference });
await hf.dispose();

const checks: Array<[QuantMode, ModelDType, Device]> = [
  ...QUANT_MODES.flatMap((mode) =>
    MODEL_DTYPES.map((dtype): [QuantMode, ModelDType, Device] => [mode, dtype, 'cpu']),
  ),
  ['float8', 'float32', device],
];
for (const [mode, dtype, calibrationDevice] of checks) {
  const source = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: calibrationDevice, onNotice: () => {} });
  const gpt = new GPT(gptConfigFromHf(source.config, { dtype, quantMode: mode }));
  await loadQuantWeightsFromHf(gpt, 'gpt2', dtype, mode, { hfModel: source, quantize: quiet });
  const compiled = await compile(gpt, { device, onNotice: () => {} });
  const { logits } = await compiled.forward(input, mask);
  const expected = (await logitsFile.readTensor(mode)).data as Float32Array;
  const difference = maxDifference(logits.data, expected);
  let text = '';
  if (mode === 'int4-weight-only') {
    const promptIds = source.tokenizer!.encode('It was a bright cold day in April, and');
    const { newTokens } = await generate(compiled, promptIds, {
      maxNewTokens: 32,
      temperature: 0,
      stopAtEos: false,
    });
    text = source.tokenizer!.decode(newTokens[0]!);
  }
  rows.push([
    `runtime ${mode} vs fake-quant reference (calibrated on ${calibrationDevice})`,
    dtype,
    compiled.device ?? device,
    difference,
  ]);
  results.push({
    check: `runtime-${mode}`,
    dtype,
    calibrationDevice,
    device: compiled.device,
    maxAbsDifference: difference,
    generated: text || undefined,
  });
  if (text) console.log(`int4 ${dtype} greedy: ${JSON.stringify(text)}`);
  await compiled.release();
  await source.dispose();
}
await logitsFile.close();
await transformersLogits.close();
const host = machine();
printTable(
  `Logits on ${device} against the references (${host.cpu}${host.gpu ? `, ${host.gpu}` : ''}, Node ${host.node})`,
  ['check', 'dtype', 'device', 'max |Δ logit|'],
  rows.map(([a, b, c, d]) => [a!, b!, c!, (d as number).toExponential(2)]),
);
writeJson(out, { benchmark: 'device check', machine: host, results });
