/**
 * A validated reader for the IDX format of the original MNIST files (LeCun et al.):
 *
 *   bytes 0-1  zero
 *   byte  2    element type (0x08 = unsigned byte; the only type MNIST uses, the only one read here)
 *   byte  3    number of dimensions d
 *   then d big-endian uint32 sizes, then prod(sizes) elements in row-major order.
 *
 * So the labels file starts with the magic number 0x00000801 (ubyte, 1 dim) and the images
 * file with 0x00000803 (ubyte, 3 dims: count, rows, cols). Everything is checked before any
 * element is read: the header fits, the magic is the expected one, no size is zero where that
 * makes no sense, and the file holds exactly the bytes the sizes promise (a truncated or padded
 * download is an error, not a silently shorter data set).
 */

/** The magic number of an IDX file of unsigned bytes with one dimension (labels). */
export const IDX_LABELS_MAGIC = 0x00000801;
/** The magic number of an IDX file of unsigned bytes with three dimensions (images). */
export const IDX_IMAGES_MAGIC = 0x00000803;

/** A parsed IDX file: its sizes and its bytes (a view into the input, not a copy). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Thrown for a malformed IDX file; the message names the file and the reason. */
export class IdxError extends Error {
  override name = 'IdxError';
}

/**
 * Parses an IDX buffer of unsigned bytes with `expectedDims` dimensions.
 * @example
 * const buf = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
 * parseIdx(buf, 1, 'labels'); // { dims: [3], data: Uint8Array [7, 2, 1] }
 */
export function parseIdx(buf: Uint8Array, expectedDims: number, what = 'IDX buffer'): IdxArray {
  const fail = (reason: string): never => {
    throw new IdxError(`parseIdx: ${what}: ${reason}`);
  };
  if (buf.byteLength < 4) fail(`${buf.byteLength} bytes is too short for the 4-byte magic number`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const expected = 0x0800 + expectedDims;
  if (magic !== expected) {
    const hex = (m: number) => `0x${m.toString(16).padStart(8, '0')}`;
    const [type, dims] = [buf[2]!, buf[3]!];
    const hint = buf[0] !== 0 || buf[1] !== 0 ? 'the first two bytes must be zero' : type !== 0x08 ? `element type 0x${type.toString(16)} is not unsigned byte (0x08)` : `it has ${dims} dimensions, expected ${expectedDims}`;
    fail(`magic number ${hex(magic)}, expected ${hex(expected)} (${hint})`);
  }
  const headerBytes = 4 + 4 * expectedDims;
  if (buf.byteLength < headerBytes) fail(`${buf.byteLength} bytes is too short for the ${headerBytes}-byte header of ${expectedDims} dimensions`);
  const dims: number[] = [];
  for (let i = 0; i < expectedDims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== headerBytes + count) {
    fail(`dimensions [${dims.join(', ')}] need ${headerBytes} + ${count} = ${headerBytes + count} bytes, the file has ${buf.byteLength}`);
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/**
 * A labels file (magic 0x00000801): one byte per example, each checked to be below `numClasses`.
 * @example
 * parseIdxLabels(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 4, 9])); // Uint8Array [4, 9]
 */
export function parseIdxLabels(buf: Uint8Array, what = 'labels', numClasses = 10): Uint8Array {
  const { data } = parseIdx(buf, 1, what);
  for (let i = 0; i < data.length; i++) {
    if (data[i]! >= numClasses) throw new IdxError(`parseIdxLabels: ${what}: label ${data[i]} at index ${i} is not below ${numClasses}`);
  }
  return data;
}

/**
 * An images file (magic 0x00000803): `count` images of rows x cols bytes (0 = background,
 * 255 = ink), row-major, one after another.
 * @example
 * const img = parseIdxImages(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255]));
 * img; // { count: 1, rows: 1, cols: 2, pixels: Uint8Array [0, 255] }
 */
export function parseIdxImages(buf: Uint8Array, what = 'images'): { count: number; rows: number; cols: number; pixels: Uint8Array } {
  const { dims, data } = parseIdx(buf, 3, what);
  const [count, rows, cols] = dims as [number, number, number];
  if (rows === 0 || cols === 0) throw new IdxError(`parseIdxImages: ${what}: images of ${rows} x ${cols} pixels`);
  return { count, rows, cols, pixels: data };
}
