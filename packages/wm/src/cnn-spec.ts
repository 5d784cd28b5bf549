/**
 * Permutation specs of convolutional networks: nn's `VGG` and `ResNet20`, following
 * git-re-basin's `vgg16_permutation_spec` and `resnet20_permutation_spec` in PyTorch's layout.
 *
 * A conv weight is [out, in, kh, kw]: permuting a conv's output channels is a permutation of
 * axis 0 (and of its bias), undone by the same permutation of axis 1 of every weight that reads
 * those channels. Everything in between acts per channel and so commutes with the permutation:
 * ReLU and max/average pooling, BatchNorm (its weight, bias, running_mean and running_var are
 * per-channel vectors permuted with their conv; num_batches_tracked is a count and is left
 * alone) and LayerNorm2d (mean and variance over channels are symmetric in them). The classifier
 * reads the globally pooled channels, so its input axis takes the last permutation (as blocks of
 * H*W entries when a flattened map is read).
 *
 * In a ResNet, a block's output is added to its input, so every tensor added into one stage's
 * residual stream must be permuted alike: one permutation per stage (`P_layer<s>`), shared by
 * the stem (for stage 1), the second conv and norm of every block of the stage, its projection
 * shortcut, and read by the next stage's first convs and shortcut (or the classifier). Only the
 * hidden channels inside a block (after conv1) get their own permutation (`P_layer<s>.<b>`).
 */
import { permutationSpec, stateDictOf, type AxisPerm, type HasStateDict, type PermutationSpec, type StateDict } from './spec.ts';

/** Per-channel entries of a norm module (BatchNorm or LayerNorm2d) that follow their conv's permutation. */
const NORM_ENTRIES = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Puts the per-channel entries of the norm at `prefix` that the state dict has. */
function putNorm(sd: StateDict, axes: Record<string, AxisPerm[]>, prefix: string, p: string): void {
  for (const e of NORM_ENTRIES) if (sd[`${prefix}.${e}`] !== undefined) axes[`${prefix}.${e}`] = [p];
}

/** Throws naming every state-dict key the spec neither covers nor knows to leave alone. */
function checkCovered(sd: StateDict, axes: Record<string, AxisPerm[]>, op: string): void {
  const unknown = Object.keys(sd).filter((k) => axes[k] === undefined && !k.endsWith('.num_batches_tracked'));
  if (unknown.length > 0) throw new Error(`${op}: parameters the spec does not know: ${unknown.join(', ')}`);
}

/** The classifier's input axis: the last permutation, in blocks when it reads a flattened map. */
function classifierInput(sd: StateDict, key: string, channels: number, p: string, op: string): AxisPerm {
  const w = sd[key];
  if (w === undefined || w.ndim !== 2) throw new Error(`${op}: no 2-D '${key}' in the state dict`);
  const inputs = w.shape[1]!;
  if (inputs % channels !== 0) throw new Error(`${op}: '${key}' [${w.shape.join(', ')}] reads ${inputs} features, not a multiple of the last conv's ${channels} channels`);
  return inputs === channels ? p : { id: p, group: inputs / channels };
}

/**
 * The spec of an nn `VGG` (keys `features.<i>.*`, `classifier.*`): conv i gets `P_features.<i>`
 * on its output channels, bias and following norm, and the next conv's input channels; the
 * input image and the logits are never permuted.
 * @example
 * const spec = vggSpec(vgg);
 * assertInvariance(vgg, applyPermutation(spec, randomPermutation(spec, sd, 0), sd), x);
 */
export function vggSpec(model: HasStateDict): PermutationSpec {
  const sd = stateDictOf(model);
  const op = 'vggSpec';
  const indices = [...new Set(Object.keys(sd).flatMap((k) => /^features\.(\d+)\./.exec(k)?.[1] ?? []))].map(Number).sort((a, b) => a - b);
  const axes: Record<string, AxisPerm[]> = {};
  let prev: string | null = null;
  let channels = 0;
  for (const i of indices) {
    const m = `features.${i}`;
    const w = sd[`${m}.weight`];
    if (w !== undefined && w.ndim === 4) {
      const p = `P_${m}`;
      axes[`${m}.weight`] = [p, prev, null, null];
      if (sd[`${m}.bias`] !== undefined) axes[`${m}.bias`] = [p];
      prev = p;
      channels = w.shape[0]!;
    } else {
      if (prev === null) throw new Error(`${op}: '${m}' comes before any convolution`);
      putNorm(sd, axes, m, prev);
    }
  }
  if (prev === null) throw new Error(`${op}: found no convolution 'features.<i>.weight' of 4 dimensions`);
  axes['classifier.weight'] = [null, classifierInput(sd, 'classifier.weight', channels, prev, op)];
  if (sd['classifier.bias'] !== undefined) axes['classifier.bias'] = [null];
  checkCovered(sd, axes, op);
  return permutationSpec(axes);
}

/**
 * The spec of an nn `ResNet20` (any width, blocks per stage, BatchNorm or LayerNorm2d): one
 * residual-stream permutation `P_layer<s>` per stage and one `P_layer<s>.<b>` per block for its
 * hidden channels (see the file comment).
 * @example
 * const spec = resnet20Spec(resnet);
 * Object.keys(spec.permToAxes); // ['P_layer1', 'P_layer1.0', 'P_layer1.1', ..., 'P_layer3.2']
 */
export function resnet20Spec(model: HasStateDict): PermutationSpec {
  const sd = stateDictOf(model);
  const op = 'resnet20Spec';
  const blocks = new Map<number, number[]>();
  for (const k of Object.keys(sd)) {
    const m = /^layer(\d+)\.(\d+)\./.exec(k);
    if (!m) continue;
    const list = blocks.get(Number(m[1])) ?? [];
    if (!list.includes(Number(m[2]))) list.push(Number(m[2]));
    blocks.set(Number(m[1]), list);
  }
  const stages = [...blocks.keys()].sort((a, b) => a - b);
  if (stages.length === 0 || sd['conv1.weight'] === undefined) throw new Error(`${op}: expected 'conv1.weight' and 'layer<s>.<b>.*' keys (an nn ResNet20)`);
  const axes: Record<string, AxisPerm[]> = {};
  let stream = `P_layer${stages[0]}`;
  axes['conv1.weight'] = [stream, null, null, null];
  putNorm(sd, axes, 'bn1', stream);
  for (const s of stages) {
    const out = `P_layer${s}`;
    for (const b of blocks.get(s)!.sort((x, y) => x - y)) {
      const blk = `layer${s}.${b}`;
      const inner = `P_${blk}`;
      axes[`${blk}.conv1.weight`] = [inner, stream, null, null];
      putNorm(sd, axes, `${blk}.bn1`, inner);
      axes[`${blk}.conv2.weight`] = [out, inner, null, null];
      putNorm(sd, axes, `${blk}.bn2`, out);
      if (sd[`${blk}.downsample.0.weight`] !== undefined) {
        axes[`${blk}.downsample.0.weight`] = [out, stream, null, null];
        putNorm(sd, axes, `${blk}.downsample.1`, out);
      } else if (stream !== out) {
        throw new Error(`${op}: block '${blk}' has an identity shortcut but moves from ${stream} to ${out}; expected a downsample projection`);
      }
      stream = out;
    }
  }
  const channels = sd[`layer${stages.at(-1)}.${blocks.get(stages.at(-1)!)!.at(-1)}.conv2.weight`]!.shape[0]!;
  axes['fc.weight'] = [null, classifierInput(sd, 'fc.weight', channels, stream, op)];
  if (sd['fc.bias'] !== undefined) axes['fc.bias'] = [null];
  checkCovered(sd, axes, op);
  return permutationSpec(axes);
}
