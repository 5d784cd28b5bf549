/**
 * Flattening a range of axes into one (torch.nn.Flatten), between convolutional features and
 * a classifier.
 */
import type { Tensor } from '@tsgrad/autograd';
import { Module } from '../module.ts';

/**
 * Merges axes startDim..endDim (default 1..-1, everything but the batch) into one, in
 * row-major order, so a [N, C, H, W] map becomes [N, C * H * W] with channel c occupying
 * entries c*H*W .. (c+1)*H*W - 1.
 * @example new Flatten().call(x) // [8, 16, 7, 7] -> [8, 784]
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    const s = this.startDim < 0 ? this.startDim + x.ndim : this.startDim;
    const e = this.endDim < 0 ? this.endDim + x.ndim : this.endDim;
    if (!(Number.isInteger(s) && Number.isInteger(e) && s >= 0 && e < x.ndim && s <= e)) {
      throw new RangeError(`Flatten: startDim ${this.startDim} and endDim ${this.endDim} do not name a range of axes of input [${x.shape.join(', ')}]`);
    }
    const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
