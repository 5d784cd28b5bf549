/**
 * Safetensors files on disk (Node only; the format itself and the byte-level reader and
 * writer are in ../safetensors.ts, which also runs in a browser).
 *
 * Writing goes through a temporary file in the same folder and a rename, so a crash never
 * leaves a truncated checkpoint behind. Reading never loads the file whole: the header is
 * read and validated first, then each wanted tensor at its own position.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@tsgrad/autograd';
import type { NDArray } from '@tsgrad/tensor';
import { checkPrefix, decodeTensor, pickEntries, serializeSafetensors, type LoadOptions, type SafetensorsContents, type SafetensorsEntry } from '../safetensors.ts';
import { checkLayout, parseHeader, SafetensorsError, type Header } from '../safetensors-header.ts';

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file in the same
 * folder, which is flushed and then renamed over `path`.
 * @example
 * saveSafetensors('ckpt.safetensors', model.stateDict(), { epoch: '3' });
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, NDArray | Tensor>,
  metadata?: Record<string, string>,
): void {
  const bytes = serializeSafetensors(tensors, metadata);
  // same folder, so the rename never crosses file systems and is atomic on POSIX
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Reads a safetensors file. Every dtype is read into the nearest tsgrad dtype:
 * F32/F16/BF16 into float32, F64 into float64, integer types into int32 (a value
 * outside the int32 range is an error, never a silent wrap), BOOL into bool.
 *
 * The file is never read whole: the 8-byte length and the header come first and are
 * validated against the file size, then each wanted tensor is read at its own
 * position. Rejecting a hostile file costs at most the header cap in memory, and a
 * checkpoint over 2 GiB loads like any other (each tensor must fit in memory).
 * @example
 * const { tensors, metadata } = loadSafetensors('ckpt.safetensors');
 * const { tensors: some } = loadSafetensors('ckpt.safetensors', { names: ['lm_head.weight'] });
 */
export function loadSafetensors(path: string, opts: LoadOptions = {}): SafetensorsContents {
  return withFile(path, (fd, size) => {
    const { header, dataStart } = readHeader(fd, path, size);
    const tensors = Object.fromEntries(
      pickEntries(header.entries, opts.names).map((e) => [e.name, decodeTensor(e, readAt(fd, path, dataStart + e.begin, e.end - e.begin))]),
    );
    return { tensors, metadata: header.metadata };
  });
}

/**
 * The validated header of a safetensors file without reading any tensor data: the entries
 * in file order (name, dtype, shape, byte range) and the metadata. An array rather than an
 * object keyed by name, so that a header of millions of tensors stays cheap to return.
 * @example inspectSafetensors('ckpt.safetensors').tensors.map((t) => t.name)
 */
export function inspectSafetensors(path: string): { tensors: SafetensorsEntry[]; metadata: Record<string, string> } {
  return withFile(path, (fd, size) => {
    const { header } = readHeader(fd, path, size);
    return { tensors: header.entries, metadata: header.metadata };
  });
}

function withFile<T>(path: string, fn: (fd: number, size: number) => T): T {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`);
  }
  try {
    try {
      size = fstatSync(fd).size;
    } catch (err) {
      throw new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`);
    }
    return fn(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates the length prefix and the header of an open file of `size` bytes. */
function readHeader(fd: number, path: string, size: number): { header: Header; dataStart: number } {
  const prefix = readAt(fd, path, 0, Math.min(8, size));
  const headerLength = checkPrefix(prefix, size);
  const header = parseHeader(readAt(fd, path, 8, headerLength));
  checkLayout(header.entries, size - 8 - headerLength);
  return { header, dataStart: 8 + headerLength };
}

// one read call moves at most this much (Node refuses single reads of 2 GiB or more)
const READ_CHUNK = 1 << 30;

/** Exactly `length` bytes from `position` into a new buffer; a short read is an error. */
function readAt(fd: number, path: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = readSync(fd, out, done, Math.min(READ_CHUNK, length - done), position + done);
    } catch (err) {
      throw new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`);
    }
    if (got === 0) throw new SafetensorsError(`'${path}' ended after ${position + done} bytes while reading ${length} bytes at ${position}`);
    done += got;
  }
  return out;
}
