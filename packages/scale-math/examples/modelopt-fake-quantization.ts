import { convertToScale, fakeQuant, fakeQuantModelOpt } from '@ptq/scale-math';

const x = Float32Array.from([-1.813363790512085]);
const amax = 1.8350375890731812;
const layout = { kind: 'per-tensor' } as const;
console.log(fakeQuantModelOpt(x, [1], amax, 'int8', layout)); // Float32Array(1) [ -1.8205883502960205 ]
console.log(fakeQuant(x, [1], convertToScale(amax, 127), 'int8', layout)); // Float32Array(1) [ -1.806139349937439 ]
