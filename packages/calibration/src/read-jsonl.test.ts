import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextEncodingError } from '@ptq/files';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetFieldError, MalformedJsonlError } from './calibration-errors';
import { readJsonl } from './read-jsonl';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-jsonl-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function file(lines: string[]): Promise<string> {
  const path = join(folder, 'data.jsonl');
  await writeFile(path, lines.join('\n'));
  return path;
}

describe('readJsonl', () => {
  it('reads "text" by default, skipping blank lines, null and whitespace-only texts', async () => {
    const path = await file([
      '{"text":"one","article":"x"}',
      '',
      '{"text":null}',
      '{"text":"  "}',
      '{"text":"two"}',
    ]);
    expect(await readJsonl(path)).toEqual({ texts: ['one', 'two'], field: 'text' });
  });

  it('falls back to "article" when the first record has no "text"', async () => {
    const path = await file(['{"id":1,"article":"a1"}', '{"id":2,"article":"a2"}']);
    expect(await readJsonl(path)).toEqual({ texts: ['a1', 'a2'], field: 'article' });
  });

  it('reads the field asked for', async () => {
    const path = await file(['{"text":"t","highlights":"h1"}', '{"highlights":"h2"}']);
    expect(await readJsonl(path, { field: 'highlights' })).toEqual({
      texts: ['h1', 'h2'],
      field: 'highlights',
    });
  });

  it('stops at the limit without reading further lines', async () => {
    const path = await file(['{"text":"one"}', '{"text":"two"}', 'not json at all']);
    expect((await readJsonl(path, { limit: 2 })).texts).toEqual(['one', 'two']);
  });

  it('handles CRLF line endings', async () => {
    const path = join(folder, 'crlf.jsonl');
    await writeFile(path, '{"text":"a"}\r\n{"text":"b"}\r\n');
    expect((await readJsonl(path)).texts).toEqual(['a', 'b']);
  });

  it('names file:line of a line that is not JSON', async () => {
    const path = await file(['{"text":"ok"}', '', '{"text": "broken"']);
    const error = await readJsonl(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MalformedJsonlError);
    expect(error).toMatchObject({ code: 'PTQ_JSONL_FORMAT', line: 3, file: `${path}:3` });
    expect((error as Error).message).toMatch(new RegExp(`^${path}:3: not valid JSON \\(`));
  });

  it.each([
    ['[1,2]', 'an array'],
    ['"text"', 'a string'],
    ['null', 'null'],
  ])('names file:line of a record that is %s', async (line, kind) => {
    const path = await file(['{"text":"ok"}', line]);
    await expect(readJsonl(path)).rejects.toThrow(`${path}:2: expected a JSON object, got ${kind}`);
  });

  it('names file:line and the fields of a record without the field', async () => {
    const path = await file(['{"text":"ok"}', '{"body":"no text"}']);
    const error = await readJsonl(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetFieldError);
    expect((error as Error).message).toBe(`${path}:2: record has no field "text" (fields: body)`);
  });

  it('names a field that is not text', async () => {
    const path = await file(['{"text":42}']);
    await expect(readJsonl(path)).rejects.toThrow(`${path}:1: field "text" is a number, not text`);
  });

  it('asks for options.field when records have neither "text" nor "article"', async () => {
    const path = await file(['{"id":1,"body":"x"}']);
    await expect(readJsonl(path)).rejects.toThrow(
      `${path}:1: records have neither a "text" nor an "article" field (fields: id, body); pass options.field`,
    );
  });

  it('names file, line and byte offset of invalid UTF-8 inside a JSON string', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"text":"fine"}\n{"text":"caf'),
      Buffer.from([0xe9]), // Latin-1 é
      Buffer.from('"}\n'),
    ]);
    const path = join(folder, 'latin1.jsonl');
    await writeFile(path, bytes);
    const error = await readJsonl(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect(error).toMatchObject({ file: `${path}:2`, byteOffset: 28 });
    expect((error as Error).message).toMatch(
      new RegExp(`^${path}:2: is not valid utf-8: bad byte sequence at byte offset 28 `),
    );
    // Told the encoding, the same bytes are the text they were meant to be.
    expect((await readJsonl(path, { encoding: 'latin1' })).texts).toEqual(['fine', 'café']);
  });

  it('names a text field holding a lone surrogate escape', async () => {
    const path = await file(['{"text":"ok \\ud83d\\ude00"}', '{"text":"half \\ud83d only"}']);
    await expect(readJsonl(path)).rejects.toThrow(
      `${path}:2: field "text" holds a lone surrogate \\ud83d at character 5, which is not text`,
    );
    expect((await readJsonl(path, { limit: 1 })).texts).toEqual(['ok 😀']);
  });

  it('refuses a FIFO at once, and a link to /dev/zero', async () => {
    const fifo = join(folder, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    await expect(readJsonl(fifo)).rejects.toThrow(`${fifo}: is a FIFO, not a regular file`);
    const zero = join(folder, 'zero.jsonl');
    await symlink('/dev/zero', zero);
    await expect(readJsonl(zero)).rejects.toThrow(`${zero}: is a character device, not a regular file`);
  });
});
