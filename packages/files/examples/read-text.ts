import { decodeText, readRegularFile, TextEncodingError } from '@ptq/files';

// news.txt holds "Café" in Latin-1
const bytes = await readRegularFile('news.txt', { maxBytes: 2 ** 30, what: 'a dataset file' });
try {
  decodeText(bytes, 'news.txt');
} catch (error) {
  if (TextEncodingError.isInstance(error)) console.log(error.message);
  // news.txt: is not valid utf-8: bad byte sequence at byte offset 3 (pass the file’s encoding, e.g. latin1, to read it)
}
