import { createHash } from 'node:crypto';
import type { ResolvedDevice } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { castOnce, createTensor, type Tensor } from '@ptq/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledModel } from '../__fixtures__/bundled-model';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { ModelDType, QuantMode } from '../config';
import { appendLinear } from '../graph/append-linear';
import { GraphContext } from '../graph/graph-context';
import { type WeightFormat, weightFormatsFor } from '../graph/weight-format';
import { weightScalesOf } from '../initialize-weights';
import { GPT } from '../modules/gpt';
import { Linear } from '../modules/linear';
import { buildCompiledGraph, type CompileOptions } from './compile';

/**
 * The bytes of every graph `compile` builds, pinned by their sha256: a change to how graphs are
 * emitted that is meant to be a pure refactor must leave every one of them as it was. A change that
 * is meant to change a graph updates the table on purpose (and is checked by the numeric tests).
 */

/** The graphs `compile` builds for one model: each operator set and batch shape, each device default. */
const VARIANTS: readonly (readonly [string, ResolvedDevice, CompileOptions])[] = [
  ['fused single-row', 'cpu', { batch: 1 }],
  ['fused batched', 'cpu', { batch: 4 }],
  // WebGPU splits long products (only the wide model has any) and stores float8 as a lookup.
  ['fused single-row webgpu', 'webgpu', { batch: 1 }],
  ['fused batched webgpu', 'webgpu', { batch: 4 }],
  ['standard', 'cpu', { operators: 'standard' }],
  ['fused unfolded pre-quant scale', 'cpu', { batch: 1, foldPreQuantScale: false }],
];

const MODES: readonly (QuantMode | undefined)[] = [
  undefined,
  'int8-weight-only',
  'int4-weight-only',
  'float8',
];
const DTYPES: readonly ModelDType[] = ['float32', 'float16'];

/** `model` with every float tensor cast to `dtype` (a tied head stays tied). */
function withDType(model: GPT, dtype: ModelDType): GPT {
  if (dtype === model.config.dtype) return model;
  const cast = castOnce(dtype);
  const state = new Map<string, Tensor>();
  for (const [name, tensor] of model.stateDict()) state.set(name, cast(tensor));
  if (model.weightsTied) state.delete('lm_head.weight');
  const converted = new GPT({ ...model.config, dtype });
  converted.loadStateDict(state, { strict: false });
  return converted;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The hash of each graph `compile` builds for `model`, keyed `format / variant`. */
function graphHashes(model: GPT): Record<string, string> {
  const hashes: Record<string, string> = {};
  const { quantMode } = model.config;
  const formats = quantMode === undefined ? [undefined] : weightFormatsFor(quantMode);
  for (const weightFormat of formats) {
    for (const [variant, device, options] of VARIANTS) {
      const { definition } = buildCompiledGraph(model, device, { ...options, weightFormat });
      hashes[`${weightFormat ?? 'float'} / ${variant}`] = sha256(serializeModel(definition));
    }
  }
  return hashes;
}

/**
 * The graph of one int8 linear with a per-tensor scale, a layout no GPT mode uses (int8 is per
 * channel there), with its bias added after the product or fused into it.
 */
function perTensorInt8Hashes(dtype: ModelDType): Record<string, string> {
  const hashes: Record<string, string> = {};
  const linear = new Linear(256, 96, { dtype, quantDtype: 'int8' });
  const cast = castOnce(dtype);
  const values = (length: number, step: number) =>
    Float32Array.from({ length }, (_, index) => Math.sin(index * step) / 8);
  linear.weight = cast(createTensor('float32', [96, 256], values(96 * 256, 0.37)));
  linear.bias = cast(createTensor('float32', [96], values(96, 1.3)));
  linear.weight_scale = weightScalesOf(linear);
  for (const weightFormat of ['matmul-nbits', 'dequantize-linear'] satisfies WeightFormat[]) {
    for (const bias of ['add', 'fused'] as const) {
      const builder = new GraphBuilder({ name: 'linear' });
      const x = builder.input('x', dtype, ['tokens', 256]);
      const y = appendLinear(new GraphContext(builder, dtype), 'linear', linear, x, {
        weightFormat,
        applyPreQuantScale: true,
        bias,
      });
      builder.output(y, 'y', dtype, ['tokens', 96]);
      hashes[`${weightFormat} / bias ${bias}`] = sha256(serializeModel(builder.build()));
    }
  }
  return hashes;
}

/** Recorded before the graph emitters were split by weight format. */
const EXPECTED: Record<string, Record<string, string>> = {
  'per-tensor int8 float32': {
    'matmul-nbits / bias add': 'f98d1e0081f65f92f54db1eb90dd9974ac494a452d34f07050facff8bedc6a3a',
    'matmul-nbits / bias fused': 'c6f339e022da68af6f0b50cbed5e6ac3f5479c88035314856b8d9fbafa197ede',
    'dequantize-linear / bias add': 'fb6c5ca38a628fb37da0aea4763af18d5585dbaced34b67f44d25223751ec109',
    'dequantize-linear / bias fused': 'cf9dbb971cddbe8a43ef59b57d2f2db5398b5b2a8b06142eb39681b12aca2a6d',
  },
  'bundled float32 float': {
    'float / fused single-row': '8b684650f5718595c0f6db7295b5a24dc294e12fb1da6addaa42d3c33fcc17ba',
    'float / fused batched': 'ecc5df2b21d069c9d6e9890bd2a3d708937fb5dfc1fd3df9e7b1393a0d281313',
    'float / fused single-row webgpu': '8b684650f5718595c0f6db7295b5a24dc294e12fb1da6addaa42d3c33fcc17ba',
    'float / fused batched webgpu': 'ecc5df2b21d069c9d6e9890bd2a3d708937fb5dfc1fd3df9e7b1393a0d281313',
    'float / standard': '6b016df8bcb5e18774793cf8a9637b6546ffa1ab493f3059bc493c0ad78cb268',
    'float / fused unfolded pre-quant scale':
      '8b684650f5718595c0f6db7295b5a24dc294e12fb1da6addaa42d3c33fcc17ba',
  },
  'bundled float32 int8-weight-only': {
    'matmul-nbits / fused single-row': '798a7aef968087713ba8e828a22860ab1b6c123db52192f0de3a4478571de2d4',
    'matmul-nbits / fused batched': 'fe59ed88d4d951927ee69b1264b75284a9b303b8d718b46db1b098958fb814e2',
    'matmul-nbits / fused single-row webgpu':
      '798a7aef968087713ba8e828a22860ab1b6c123db52192f0de3a4478571de2d4',
    'matmul-nbits / fused batched webgpu': 'fe59ed88d4d951927ee69b1264b75284a9b303b8d718b46db1b098958fb814e2',
    'matmul-nbits / standard': '167765b97a05200777816a66b5e5a10625b2f543d1635b847919a5e6872d8ba7',
    'matmul-nbits / fused unfolded pre-quant scale':
      '798a7aef968087713ba8e828a22860ab1b6c123db52192f0de3a4478571de2d4',
    'dequantize-linear / fused single-row':
      'c74b082e281c6f596d7eee0f0c02f3861eaa47657cfbc7c5f2831354dc5b402c',
    'dequantize-linear / fused batched': 'cdae356ed2bc797155a014eb3068699fc8866ec28f9f72be0e07acfd1dd7792c',
    'dequantize-linear / fused single-row webgpu':
      'c74b082e281c6f596d7eee0f0c02f3861eaa47657cfbc7c5f2831354dc5b402c',
    'dequantize-linear / fused batched webgpu':
      'cdae356ed2bc797155a014eb3068699fc8866ec28f9f72be0e07acfd1dd7792c',
    'dequantize-linear / standard': 'e14f8ac594bc19f9996c67e45f7cc184e65a74040dd29e0585ff768e44a2481f',
    'dequantize-linear / fused unfolded pre-quant scale':
      'c74b082e281c6f596d7eee0f0c02f3861eaa47657cfbc7c5f2831354dc5b402c',
  },
  'bundled float32 int4-weight-only': {
    'matmul-nbits / fused single-row': 'fdfc555de74f685e26949ff2ec6d14b62681c39d265dc4c64b6b27f5566470b5',
    'matmul-nbits / fused batched': 'dcbabfa5bfe94294f11cbe73483acf69977b75fe07b9c80077247e81cf84388d',
    'matmul-nbits / fused single-row webgpu':
      'fdfc555de74f685e26949ff2ec6d14b62681c39d265dc4c64b6b27f5566470b5',
    'matmul-nbits / fused batched webgpu': 'dcbabfa5bfe94294f11cbe73483acf69977b75fe07b9c80077247e81cf84388d',
    'matmul-nbits / standard': '9281ee38c29236facc0ea2fc9367e3a675e2dfad2615516d80791cf2c3092ad7',
    'matmul-nbits / fused unfolded pre-quant scale':
      '8bf188c7715aacedc74b5e7c095ac603c57f3fc72a1f921eaa3177ee538c5fd2',
    'dequantize-linear / fused single-row':
      '0033fa0cacf4a14bbd5162c0abedaec12c5471f25563c11c8b5bb5383590ab06',
    'dequantize-linear / fused batched': '0cbcf0127d9976985a21f1bf84e6ff4eca79bfb99ccfe8dfc409c1764c03b6f7',
    'dequantize-linear / fused single-row webgpu':
      '0033fa0cacf4a14bbd5162c0abedaec12c5471f25563c11c8b5bb5383590ab06',
    'dequantize-linear / fused batched webgpu':
      '0cbcf0127d9976985a21f1bf84e6ff4eca79bfb99ccfe8dfc409c1764c03b6f7',
    'dequantize-linear / standard': '664286ec34a5d1a1a172bfc6bbf8c2c4f939a04102bb3e2759cfb29bed97fb56',
    'dequantize-linear / fused unfolded pre-quant scale':
      '274ac17d75ddb11351645b17c710d514dd086fe693e1b0bf8677241dea631afd',
  },
  'bundled float32 float8': {
    'dequantize-linear / fused single-row':
      '3785c277c9b7824a9478cc0910be11bd682667fb6e82087e6c41bcc4a160b93b',
    'dequantize-linear / fused batched': 'b4dec83d240361df71051ab5a99ef8d16cba31223c155314a4c7229f57f71a38',
    'dequantize-linear / fused single-row webgpu':
      '3785c277c9b7824a9478cc0910be11bd682667fb6e82087e6c41bcc4a160b93b',
    'dequantize-linear / fused batched webgpu':
      'b4dec83d240361df71051ab5a99ef8d16cba31223c155314a4c7229f57f71a38',
    'dequantize-linear / standard': '944550773c09d2961df4c7de9a8a64d76daac41c5e2319d97f8e77bec1b3d863',
    'dequantize-linear / fused unfolded pre-quant scale':
      '3785c277c9b7824a9478cc0910be11bd682667fb6e82087e6c41bcc4a160b93b',
    'lookup / fused single-row': 'b65b456496446a5a87050bb01a9d17a193367cc8e6065362eab595a62e7b766f',
    'lookup / fused batched': '69321bb62e3ad73c7ae5964c7a7ed283db844afab9b70bc7f7e6827eb78a59d8',
    'lookup / fused single-row webgpu': 'b65b456496446a5a87050bb01a9d17a193367cc8e6065362eab595a62e7b766f',
    'lookup / fused batched webgpu': '69321bb62e3ad73c7ae5964c7a7ed283db844afab9b70bc7f7e6827eb78a59d8',
    'lookup / standard': 'e120ffe5845a3d372ab1d20704fe61f5454c18114077a70a2e0ca82bfcc40383',
    'lookup / fused unfolded pre-quant scale':
      'b65b456496446a5a87050bb01a9d17a193367cc8e6065362eab595a62e7b766f',
  },
  'wide float32 float': {
    'float / fused single-row': '4774b5cd792e2a6a06c089d7881b41b9b5dbf967a84aa55a434b696c43d3083f',
    'float / fused batched': '09ccb1a6d1b3631b6b451a3aaac91741b7263d34f5ea51639a614b8c2db354d0',
    'float / fused single-row webgpu': '130dc3fc081af401b672b71627a62c3a1493df132028e9a7244fee272c713d97',
    'float / fused batched webgpu': '895debefedc381a80dc0abf3a78b1fdfc7706e80c905487a0e1f25ede31b3aa3',
    'float / standard': '384825673d716e53cc62afeb7478fe555337582315996999bcd6a34d500f8719',
    'float / fused unfolded pre-quant scale':
      '4774b5cd792e2a6a06c089d7881b41b9b5dbf967a84aa55a434b696c43d3083f',
  },
  'wide float32 int8-weight-only': {
    'matmul-nbits / fused single-row': '5785ff9af7e8808022176fd3f1586aa44809b3d302020f2fec61ecf6b9c63ea4',
    'matmul-nbits / fused batched': 'f26386fa2a25d0423ce35d902f74c4c70a29d928da0611b639609ce3770d0971',
    'matmul-nbits / fused single-row webgpu':
      '5785ff9af7e8808022176fd3f1586aa44809b3d302020f2fec61ecf6b9c63ea4',
    'matmul-nbits / fused batched webgpu': 'f26386fa2a25d0423ce35d902f74c4c70a29d928da0611b639609ce3770d0971',
    'matmul-nbits / standard': 'eb3eefa76a938470b96b19f2619e320254800c7707af142b005a03a3ab1863d6',
    'matmul-nbits / fused unfolded pre-quant scale':
      '5785ff9af7e8808022176fd3f1586aa44809b3d302020f2fec61ecf6b9c63ea4',
    'dequantize-linear / fused single-row':
      'cae4be61256f25227baf15f46b32fc23d3bcdc897745ee84f0b785fd64f05ddd',
    'dequantize-linear / fused batched': 'ddd07992f67cb74257ab3d3120b9717bce29cb0b88a7e97b148081cf32ff7f9a',
    'dequantize-linear / fused single-row webgpu':
      'cae4be61256f25227baf15f46b32fc23d3bcdc897745ee84f0b785fd64f05ddd',
    'dequantize-linear / fused batched webgpu':
      'ddd07992f67cb74257ab3d3120b9717bce29cb0b88a7e97b148081cf32ff7f9a',
    'dequantize-linear / standard': '972722e7f128b46b88b36e1cd014b77e518a49b1864ce923e9aa5c1407f71d19',
    'dequantize-linear / fused unfolded pre-quant scale':
      'cae4be61256f25227baf15f46b32fc23d3bcdc897745ee84f0b785fd64f05ddd',
  },
  'wide float32 int4-weight-only': {
    'matmul-nbits / fused single-row': 'e8585f94daa1f1002263634d26e22b035d6c1981d357a8f9846873dd21a5ba4d',
    'matmul-nbits / fused batched': 'bc448076cfb31f52dcca1a273da5ddf7dbdb0dd78c24da6b425e5126c4b8efde',
    'matmul-nbits / fused single-row webgpu':
      'e8585f94daa1f1002263634d26e22b035d6c1981d357a8f9846873dd21a5ba4d',
    'matmul-nbits / fused batched webgpu': 'bc448076cfb31f52dcca1a273da5ddf7dbdb0dd78c24da6b425e5126c4b8efde',
    'matmul-nbits / standard': '5caa1b246f37c95e01aa590303da6dd5175cca18fa08c43a74b0eef2bc36f740',
    'matmul-nbits / fused unfolded pre-quant scale':
      '5e9350b015783d5ef262992e6c8181f05b75c85f71ac919a2d0126674d504e24',
    'dequantize-linear / fused single-row':
      '89e7857017900ebcc802bdd9bc78ab35f5a50e9774fc3421520edb1f22943362',
    'dequantize-linear / fused batched': '2dd3cdfe30ec876548fcb4acf540472497e00036ceb5273bf65a1ba68da19d68',
    'dequantize-linear / fused single-row webgpu':
      '89e7857017900ebcc802bdd9bc78ab35f5a50e9774fc3421520edb1f22943362',
    'dequantize-linear / fused batched webgpu':
      '2dd3cdfe30ec876548fcb4acf540472497e00036ceb5273bf65a1ba68da19d68',
    'dequantize-linear / standard': '567ef3c9f045675f5ea375fa56228521deabe428d70074fd48c494bc0d4d5ce4',
    'dequantize-linear / fused unfolded pre-quant scale':
      'b7f25dc49b9f62091fc330f1d3a0edcb8474ed738760460dcded0a1d929b5362',
  },
  'wide float32 float8': {
    'dequantize-linear / fused single-row':
      '94a3796a9a9f4e6877308bc4115d796101f63594d4f222bd90c9027fd8a94de7',
    'dequantize-linear / fused batched': 'ef81af73109ba80f7ee344760566baaf3d973994b4293ffe41a088f930973f58',
    'dequantize-linear / fused single-row webgpu':
      '52317a48977f0e31d055a1dbc6bfd8152f70e57f0e7d7a9bf7bb6115c3bbe0d0',
    'dequantize-linear / fused batched webgpu':
      '4c2d52b1cfad38c1acb5b0b5ff9d1291a4b31a7b0c745e8bba27eaf718c50ef9',
    'dequantize-linear / standard': 'b853348951618b5042035ec2709eb493a8521bc37f5b275c88a50070593bbe73',
    'dequantize-linear / fused unfolded pre-quant scale':
      '94a3796a9a9f4e6877308bc4115d796101f63594d4f222bd90c9027fd8a94de7',
    'lookup / fused single-row': '14c82258e6147305acddf5cebc9da51d0aa635652ad5b248f379fd0ff1e74f1e',
    'lookup / fused batched': '2033d0bdb795d10679f43631c5fc4e3f724fc63b9a06f1f5b7c2fe22ea9f8cb0',
    'lookup / fused single-row webgpu': '5948ee68c494c8642b440bd4a3f83a782827d110e4c0977f9fc8aab1721b8769',
    'lookup / fused batched webgpu': '647c63ffa8be60704bcf54beafbfe011aeb0894283f463feb1e8f0b3d3bc24b0',
    'lookup / standard': 'f3b99715bee4f0c915be58967aa54a4b0fcc3a94ddc3f20041258b54ff4cfffa',
    'lookup / fused unfolded pre-quant scale':
      '14c82258e6147305acddf5cebc9da51d0aa635652ad5b248f379fd0ff1e74f1e',
  },
  'per-tensor int8 float16': {
    'matmul-nbits / bias add': 'a1df32496c1b75a93c8af719d6df1c32f10f1ee71c46dbb51a9e290975d521b2',
    'matmul-nbits / bias fused': 'ae5f66ca5e8d1aaca66ed32da0456cd1ddff6425c75331c2ac2542d950a226cf',
    'dequantize-linear / bias add': '2ac571bdfc691bbb3aa23005027e15ba3b31258018e2b3a50ba345f750ea54f7',
    'dequantize-linear / bias fused': '20a161af360014065d0bac3d3bce5c6dfb7d522d29ed994774ade731af4a4896',
  },
  'bundled float16 float': {
    'float / fused single-row': '9a4f1fdbb3956edbbad882663e1b11580c342a61f27825dc32a1c02463a85214',
    'float / fused batched': 'ebe1efd5f1263ab8e9b88a90f0782ce45743b3aab6e472d650e4c5c12126e142',
    'float / fused single-row webgpu': '9a4f1fdbb3956edbbad882663e1b11580c342a61f27825dc32a1c02463a85214',
    'float / fused batched webgpu': 'ebe1efd5f1263ab8e9b88a90f0782ce45743b3aab6e472d650e4c5c12126e142',
    'float / standard': '50fa0b6399c769f773b6e39ae87f0e28932ab61c51a0e28a39f94da145073d45',
    'float / fused unfolded pre-quant scale':
      '9a4f1fdbb3956edbbad882663e1b11580c342a61f27825dc32a1c02463a85214',
  },
  'bundled float16 int8-weight-only': {
    'matmul-nbits / fused single-row': 'd8b2108891fd37526bc84f7a11f10fa782856dbfd22b380d3675c991871410d9',
    'matmul-nbits / fused batched': 'e8ad09c5a3c488df71c4c66621a79d4eccd8495fda4c42d34b19c8c12dcaba90',
    'matmul-nbits / fused single-row webgpu':
      'd8b2108891fd37526bc84f7a11f10fa782856dbfd22b380d3675c991871410d9',
    'matmul-nbits / fused batched webgpu': 'e8ad09c5a3c488df71c4c66621a79d4eccd8495fda4c42d34b19c8c12dcaba90',
    'matmul-nbits / standard': 'c1a39e3e1cb84e7785e600286871952c402fe4677ffcbc49d67fb115cc984794',
    'matmul-nbits / fused unfolded pre-quant scale':
      'd8b2108891fd37526bc84f7a11f10fa782856dbfd22b380d3675c991871410d9',
    'dequantize-linear / fused single-row':
      '501ffe82d15e648f5dbcc8b6f02cb8087f3f15a9f94e0a1e864527fec4ff6d49',
    'dequantize-linear / fused batched': '55f6380e868ac74da29c92c672fa6fa2cb0518e0f77ba3bf00977cf1c0be8e9c',
    'dequantize-linear / fused single-row webgpu':
      '501ffe82d15e648f5dbcc8b6f02cb8087f3f15a9f94e0a1e864527fec4ff6d49',
    'dequantize-linear / fused batched webgpu':
      '55f6380e868ac74da29c92c672fa6fa2cb0518e0f77ba3bf00977cf1c0be8e9c',
    'dequantize-linear / standard': '047c3799bdf2ba1b8ed74a058ae0c45955a9c4085067a82abcc905b1ed8925db',
    'dequantize-linear / fused unfolded pre-quant scale':
      '501ffe82d15e648f5dbcc8b6f02cb8087f3f15a9f94e0a1e864527fec4ff6d49',
  },
  'bundled float16 int4-weight-only': {
    'matmul-nbits / fused single-row': 'cd0facce0871fceae076ee0e3c4b8083bc80eb2f20d7d530b3ba2d953330e1eb',
    'matmul-nbits / fused batched': '58608eab8bf6df7a572b84c4a93c52417f299287d19096acf6bc5e2c8449a5e3',
    'matmul-nbits / fused single-row webgpu':
      'cd0facce0871fceae076ee0e3c4b8083bc80eb2f20d7d530b3ba2d953330e1eb',
    'matmul-nbits / fused batched webgpu': '58608eab8bf6df7a572b84c4a93c52417f299287d19096acf6bc5e2c8449a5e3',
    'matmul-nbits / standard': '145d75eabfaca867a4f09a3e70f0a5431319ee57fde5ffaf4418b276b7d75f7b',
    'matmul-nbits / fused unfolded pre-quant scale':
      'a6823619c143be49f76fce52c363187e72a56bf43cd81c9008b9040498d85146',
    'dequantize-linear / fused single-row':
      'ab66254205c73d5f3c2992b2711565f18ff7e56bbd30572b30f3fcf43b7e85b7',
    'dequantize-linear / fused batched': 'a1575e4f0e5535d8e782407850a62c3b1fd2efe852e8114db2ed52f2dc06fa4f',
    'dequantize-linear / fused single-row webgpu':
      'ab66254205c73d5f3c2992b2711565f18ff7e56bbd30572b30f3fcf43b7e85b7',
    'dequantize-linear / fused batched webgpu':
      'a1575e4f0e5535d8e782407850a62c3b1fd2efe852e8114db2ed52f2dc06fa4f',
    'dequantize-linear / standard': 'dd3dcc27856b94d9fb118242144ad0e4bfbce87f79585eaf4fa03478978e2b30',
    'dequantize-linear / fused unfolded pre-quant scale':
      'ee51d529a2f1a567e1ae95c2e711adffd436a5da1b27c2c9312bdbff874dd0a4',
  },
  'bundled float16 float8': {
    'dequantize-linear / fused single-row':
      'db2b395e081cd7a2846607f2d39b3173424074ea4a2cc3c7fab121a14b5fe61c',
    'dequantize-linear / fused batched': 'a1ccad8a676bc0b27b6bbc6e706ccfbb2d767d3da1d62283162eeb51918c5aaa',
    'dequantize-linear / fused single-row webgpu':
      'db2b395e081cd7a2846607f2d39b3173424074ea4a2cc3c7fab121a14b5fe61c',
    'dequantize-linear / fused batched webgpu':
      'a1ccad8a676bc0b27b6bbc6e706ccfbb2d767d3da1d62283162eeb51918c5aaa',
    'dequantize-linear / standard': '9ea41a2ea21ad34cde839da11f7b73efc6bc4749530a4751cc7937bbb906e084',
    'dequantize-linear / fused unfolded pre-quant scale':
      'db2b395e081cd7a2846607f2d39b3173424074ea4a2cc3c7fab121a14b5fe61c',
    'lookup / fused single-row': '4d56daeeda21ac5d8df708ae974598eb843c726a463ca2e642cc2da58486858d',
    'lookup / fused batched': '36473028d2990e924df1dd6135a6a469598ff284b37bffd6c72d65abd9d56ad6',
    'lookup / fused single-row webgpu': '4d56daeeda21ac5d8df708ae974598eb843c726a463ca2e642cc2da58486858d',
    'lookup / fused batched webgpu': '36473028d2990e924df1dd6135a6a469598ff284b37bffd6c72d65abd9d56ad6',
    'lookup / standard': '8c5b89be5944027a38fd90a7d86e04c2638ccf0f19d1a8673ebce5c79b678ca2',
    'lookup / fused unfolded pre-quant scale':
      '4d56daeeda21ac5d8df708ae974598eb843c726a463ca2e642cc2da58486858d',
  },
  'wide float16 float': {
    'float / fused single-row': 'b68181aacd4ea7913099e5f8825c03569c77bd3064fa285abf47bcb90a884250',
    'float / fused batched': '6d3122046c7db0b2152d27836cef84ed85b6c7b9e90dbd5c8048a0566c638d8c',
    'float / fused single-row webgpu': 'e887b4b1621ca3a6cb38966e902e545078ac80fad126cd12da60b284d6fdbe5e',
    'float / fused batched webgpu': '81242504eedfee57daddd65878d5b9570290e411f47e8878a2cdc0af421a2290',
    'float / standard': 'b95956ecfdeb43f24023b323b1341d93675a2ba5bd22c863775a91c98c9f14e1',
    'float / fused unfolded pre-quant scale':
      'b68181aacd4ea7913099e5f8825c03569c77bd3064fa285abf47bcb90a884250',
  },
  'wide float16 int8-weight-only': {
    'matmul-nbits / fused single-row': '498f526602576cd028048ca06dba26c01c0d6d0f025f9a52880931a6a763d951',
    'matmul-nbits / fused batched': '8ff3b9f8b60a95fd18c5d66558af082a04499686b0fb50f77c235f3852b2960c',
    'matmul-nbits / fused single-row webgpu':
      '498f526602576cd028048ca06dba26c01c0d6d0f025f9a52880931a6a763d951',
    'matmul-nbits / fused batched webgpu': '8ff3b9f8b60a95fd18c5d66558af082a04499686b0fb50f77c235f3852b2960c',
    'matmul-nbits / standard': '5fe244961f888861ebfb6d19952a5c625d4296a9fccb3cf3ffa89e834d766720',
    'matmul-nbits / fused unfolded pre-quant scale':
      '498f526602576cd028048ca06dba26c01c0d6d0f025f9a52880931a6a763d951',
    'dequantize-linear / fused single-row':
      '587b521175ff59c2a83a315b1996ae2aba0d630f0b174ef8c1d2bfb318994052',
    'dequantize-linear / fused batched': '002bf0048925a216a3ae96e7c34f15324478cda3f9b72be89d4b76ebd7d1103c',
    'dequantize-linear / fused single-row webgpu':
      '587b521175ff59c2a83a315b1996ae2aba0d630f0b174ef8c1d2bfb318994052',
    'dequantize-linear / fused batched webgpu':
      '002bf0048925a216a3ae96e7c34f15324478cda3f9b72be89d4b76ebd7d1103c',
    'dequantize-linear / standard': 'dbe3b8cb44519b3683ab4745edb60bd492d554c911907cc2fe86ccac42e6cc73',
    'dequantize-linear / fused unfolded pre-quant scale':
      '587b521175ff59c2a83a315b1996ae2aba0d630f0b174ef8c1d2bfb318994052',
  },
  'wide float16 int4-weight-only': {
    'matmul-nbits / fused single-row': '50fefd6248089281f62a0375180ca5b36db33775950d2f31c64c57212d6457c3',
    'matmul-nbits / fused batched': '863edd56a3e53b1c295902591bf000161f9166ae861f92d4e8aed25a383b4108',
    'matmul-nbits / fused single-row webgpu':
      '50fefd6248089281f62a0375180ca5b36db33775950d2f31c64c57212d6457c3',
    'matmul-nbits / fused batched webgpu': '863edd56a3e53b1c295902591bf000161f9166ae861f92d4e8aed25a383b4108',
    'matmul-nbits / standard': '3dab33a750ce9780aa86f6ba89b7ea8a279915d2d7fbd2fb9441e63d1a8baf56',
    'matmul-nbits / fused unfolded pre-quant scale':
      'a260d74c33d581b1e70bf5c518e0641567493775a43c4d4c38a918a9d187361d',
    'dequantize-linear / fused single-row':
      '5a8063509d0daf92c33241d0b7f8c8881342ff5d30ecbc1850b2de7b6b0e6939',
    'dequantize-linear / fused batched': '2e26faac109e0a51ef97daf470bf9fd6da97e5669c070df148c220875a9d68cb',
    'dequantize-linear / fused single-row webgpu':
      '5a8063509d0daf92c33241d0b7f8c8881342ff5d30ecbc1850b2de7b6b0e6939',
    'dequantize-linear / fused batched webgpu':
      '2e26faac109e0a51ef97daf470bf9fd6da97e5669c070df148c220875a9d68cb',
    'dequantize-linear / standard': '7521f66085901ad4755464cf46059472a31908044b3b3f55f408aaa00d1cd502',
    'dequantize-linear / fused unfolded pre-quant scale':
      '6cc32177dcc204ba41172db5e3a8c7e5883f24230e6a05d121674bf6b009aa0c',
  },
  'wide float16 float8': {
    'dequantize-linear / fused single-row':
      'd9b1f0fa5db3a715c724a40a5457e7e50f9e9db3b5bca72781e5b0ce85d3dead',
    'dequantize-linear / fused batched': '6354418c852ab4865f02144d3df7f428f5359234dd3668d4c80a19ca44f5eba9',
    'dequantize-linear / fused single-row webgpu':
      'e0410b15cc4b61cdacdf88957b1a4857ff8b6c40357d321967d53139541b3863',
    'dequantize-linear / fused batched webgpu':
      '1828e55230243ca8cd2c805037b678072ad815495b55affea5d868576961d293',
    'dequantize-linear / standard': '1610cfe1cf1a60647e227e8f7fe5e27e5f15069379acac7f2018d319c39a24b5',
    'dequantize-linear / fused unfolded pre-quant scale':
      'd9b1f0fa5db3a715c724a40a5457e7e50f9e9db3b5bca72781e5b0ce85d3dead',
    'lookup / fused single-row': '08bea6e76dea34605b911c5b88c2dbf3d246dbc5c8d87c2d0304738408c6b4e2',
    'lookup / fused batched': '59fd5f8c6d65e58fd40a508d7a47776279426c64a25f5f6461c8a92d7a3218d9',
    'lookup / fused single-row webgpu': 'f6ed0d4996dea43eeffdaa3a78a7a5a18054a0b154178f8d8a9e7e0164ef1db3',
    'lookup / fused batched webgpu': 'd4b72f169d0ee760a33267bdc768fb1c2e1286e24569bfaa54d76047f502f848',
    'lookup / standard': '6fcf91a4a0f70018a7e11d0dd8eab84836a0076e833d6c8d93a0af1c9901d2e9',
    'lookup / fused unfolded pre-quant scale':
      '08bea6e76dea34605b911c5b88c2dbf3d246dbc5c8d87c2d0304738408c6b4e2',
  },
};

describe('the bytes of the graphs compile builds', () => {
  const bundled = new Map<QuantMode | undefined, GPT>();
  beforeAll(async () => {
    for (const mode of MODES) bundled.set(mode, (await bundledModel(mode, 1)).model);
  });

  describe.each(DTYPES)('%s', (dtype) => {
    it('an int8 linear with a per-tensor scale: each format and bias as recorded', () => {
      expect(perTensorInt8Hashes(dtype)).toEqual(EXPECTED[`per-tensor int8 ${dtype}`]);
    });

    it.each(MODES)('bundled model, %s: every weight format and variant as recorded', (mode) => {
      const hashes = graphHashes(withDType(bundled.get(mode)!, dtype));
      expect(hashes).toEqual(EXPECTED[`bundled ${dtype} ${mode ?? 'float'}`]);
    });

    // 512 wide: mlp.c_proj's 2048-long inner dimension is split on WebGPU (`innerSplitParts`).
    it.each(MODES)('512-wide model, %s: every weight format and variant as recorded', (mode) => {
      const model = tinyModel({ quantMode: mode, dtype, embeddingSize: 512, numLayers: 1 }, 1, 0.05);
      const hashes = graphHashes(model);
      expect(hashes).toEqual(EXPECTED[`wide ${dtype} ${mode ?? 'float'}`]);
    });
  });
});
