import { createXoshiro128 } from '@ptq/tensor';

const next = createXoshiro128(42); // xoshiro128**, seeded through splitmix32
console.log([next(), next(), next()]); // [ 0.6606157226487994, 0.12688010395504534, 0.11170196393504739 ]
