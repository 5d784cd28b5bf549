/** Draws MNIST digits as small canvases with a caption, framed green when the guess is right. */
import { h } from './dom.ts';

/** Digit `k` of a row-major [N, 784] pixel array in [0, 1], ink dark on white. */
export function digitFigure(pixels: ArrayLike<number>, k: number, caption: string, right: boolean): HTMLElement {
  const canvas = h('canvas', { width: 28, height: 28 });
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const v = 255 - Math.round(Number(pixels[k * 784 + p]) * 255);
    img.data.set([v, v, v, 255], p * 4);
  }
  ctx.putImageData(img, 0, 0);
  return h('figure', { class: right ? 'right' : 'wrong' }, canvas, h('figcaption', {}, caption));
}
