/**
 * `LoraLinear`: a frozen `Linear` plus a trainable low-rank update (Hu et al. 2021, eq. 3),
 *
 *   y = W x + b + s * B (A (dropout(x))),   s = alpha / r   (alpha / sqrt(r) with rsLoRA),
 *
 * with A = `lora_A.weight` (r x in) and B = `lora_B.weight` (out x r). The child names
 * `base_layer`, `lora_A`, `lora_B` are PEFT's, so parameter names match PEFT's saved keys
 * (`<module>.lora_A.weight`) once the `base_model.model.` prefix is added.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import { Dropout, Linear, Module, zeros as fillZeros } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';

/** Options of {@link LoraLinear}. */
export interface LoraLinearOptions {
  r: number;
  alpha: number;
  /** Dropout probability on the adapter input (default 0). */
  dropout?: number;
  useRslora?: boolean;
  /** Generator for the placeholder init and the dropout masks. */
  rng?: nd.Rng;
}

/**
 * LoRA wrapper around a `Linear` (the base weight is frozen here).
 * @example
 * const lora = new LoraLinear(new Linear(16, 8), { r: 4, alpha: 4 });
 * lora.call(x); // equals the base layer while B = 0
 * lora.merge(); lora.unmerge();
 */
export class LoraLinear extends Module {
  base_layer: Linear;
  lora_A: Linear;
  lora_B: Linear;
  lora_dropout: Dropout | null;
  /** Current rank. */
  r: number;
  /** Current alpha. */
  alpha: number;
  readonly useRslora: boolean;
  /** True while s B A is folded into the base weight. */
  merged = false;
  /** When true the adapter path is skipped (PEFT's `disable_adapter`). */
  disabled = false;
  /** Name of the init that produced the current A, B (and residual W for PiSSA/OLoRA). */
  initMethod = 'default';
  private rng: nd.Rng;

  constructor(base: Linear, opts: LoraLinearOptions) {
    super();
    LoraLinear.checkRank(opts.r);
    LoraLinear.checkAlpha(opts.alpha);
    this.base_layer = this.registerModule('base_layer', base);
    for (const p of base.parameters()) p.requiresGrad_(false);
    this.r = opts.r;
    this.alpha = opts.alpha;
    this.useRslora = opts.useRslora ?? false;
    this.rng = opts.rng ?? nd.rngFor().fork();
    const dtype = base.weight.dtype as 'float32' | 'float64';
    this.lora_A = this.registerModule('lora_A', new Linear(base.inFeatures, opts.r, { bias: false, dtype, rng: this.rng }));
    // Linear's default init U(-1/sqrt(in), 1/sqrt(in)) is PEFT's kaiming_uniform_(a=sqrt(5)) for A.
    this.lora_B = this.registerModule('lora_B', new Linear(opts.r, base.outFeatures, { bias: false, dtype, rng: this.rng }));
    fillZeros(this.lora_B.weight);
    const p = opts.dropout ?? 0;
    this.lora_dropout = this.registerModule('lora_dropout', p > 0 ? new Dropout(p, { rng: this.rng.fork() }) : null);
  }

  private static checkRank(r: number): void {
    if (!Number.isInteger(r) || r < 1) throw new RangeError(`LoraLinear: rank must be a positive integer, got ${r}`);
  }

  private static checkAlpha(alpha: number): void {
    // A non-number alpha would make every output NaN, silently.
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new TypeError(`LoraLinear: alpha must be a finite number, got ${String(alpha)}`);
  }

  get inFeatures(): number {
    return this.base_layer.inFeatures;
  }
  get outFeatures(): number {
    return this.base_layer.outFeatures;
  }

  /** s = alpha / r, or alpha / sqrt(r) with rsLoRA. */
  get scaling(): number {
    return this.useRslora ? this.alpha / Math.sqrt(this.r) : this.alpha / this.r;
  }

  /** The generator this layer's random inits draw from. */
  get generator(): nd.Rng {
    return this.rng;
  }

  /**
   * Replaces A and B by fresh matrices of rank `r` (A Kaiming-uniform as PEFT's
   * placeholder, B = 0) and sets alpha. EVA uses it after rank redistribution.
   * @example layer.resize(12, 12)
   */
  resize(r: number, alpha = this.alpha): void {
    LoraLinear.checkRank(r);
    LoraLinear.checkAlpha(alpha);
    if (this.merged) throw new Error('LoraLinear.resize: unmerge() first');
    const dtype = this.base_layer.weight.dtype as 'float32' | 'float64';
    this.r = r;
    this.alpha = alpha;
    const a = new Linear(this.inFeatures, r, { bias: false, dtype, rng: this.rng });
    const b = new Linear(r, this.outFeatures, { bias: false, dtype, rng: this.rng });
    fillZeros(b.weight);
    this.lora_A = a;
    this.lora_B = b;
    this.setSubmodule('lora_A', a);
    this.setSubmodule('lora_B', b);
  }

  override forward(x: Tensor): Tensor {
    if (this.disabled && this.merged) this.unmerge();
    const y = this.base_layer.call(x);
    if (this.disabled || this.merged) return y;
    const h = this.lora_dropout ? this.lora_dropout.call(x) : x;
    return y.add(this.lora_B.call(this.lora_A.call(h)).mul(this.scaling));
  }

  /**
   * s B A as a float64 (out x in) array.
   * @example const dw = layer.deltaWeight();
   */
  deltaWeight(): nd.NDArray {
    const a = nd.cast(this.lora_A.weight.data, 'float64');
    const b = nd.cast(this.lora_B.weight.data, 'float64');
    return nd.mul(nd.matmul(b, a), this.scaling);
  }

  /** Folds s B A into the base weight (inference without the extra matmuls). */
  merge(): void {
    if (this.merged) return;
    this.addToBase(this.deltaWeight());
    this.merged = true;
  }

  /** Undoes {@link merge}. */
  unmerge(): void {
    if (!this.merged) return;
    this.addToBase(nd.neg(this.deltaWeight()));
    this.merged = false;
  }

  private addToBase(delta: nd.NDArray): void {
    noGrad(() => {
      const w = this.base_layer.weight;
      const sum = nd.add(nd.cast(w.data, 'float64'), delta);
      nd.getBackend().assign(w.data, nd.cast(sum, w.dtype));
    });
  }

  override extraRepr(): string {
    return `r=${this.r}, alpha=${this.alpha}, scaling=${this.scaling}, init='${this.initMethod}'${this.merged ? ', merged' : ''}`;
  }
}
