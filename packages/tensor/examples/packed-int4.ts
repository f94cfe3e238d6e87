import { InvalidArgumentError } from '@ptq/errors';
import { packInt4, packInt4Rows, unpackInt4, unpackInt4Rows } from '@ptq/tensor';

// ONNX layout: element 2i in the low nibble of byte i, element 2i+1 in the high nibble.
const packed = packInt4(Int8Array.from([1, -1, 7, -8, 3]));
console.log(packed);
// Uint8Array(3) [ 241, 135, 3 ]
console.log(unpackInt4(packed, 5));
// Int8Array(5) [ 1, -1, 7, -8, 3 ]

// ModelOpt export layout: rows 2r and 2r+1 share byte [r, j], giving [rows / 2, columns].
const q = Int8Array.from([1, 2, 3, -1, -2, -3, 7, -8, 0, 0, 1, -1]); // [4, 3]
console.log(packInt4Rows(q, 4, 3));
// Uint8Array(6) [ 241, 226, 211, 7, 24, 240 ]
console.log(unpackInt4Rows(packInt4Rows(q, 4, 3), 4, 3));
// Int8Array(12) [ 1, 2, 3, -1, -2, -3, 7, -8, 0, 0, 1, -1 ] (the same 12 values back)

try {
  packInt4(Int8Array.from([0, 9]));
} catch (error) {
  if (InvalidArgumentError.isInstance(error)) console.log(error.code, error.message);
}
// PTQ_INVALID_ARGUMENT Invalid argument "values": int4 values must lie in [-8, 7], got 9 at index 1
