import { afterAll } from 'vitest';
import { removeTemporaryFolders } from './quantized-default-model';

// A setup file runs for every test file, so each file's temporary folders go after its tests.
afterAll(removeTemporaryFolders);
