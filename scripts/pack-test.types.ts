// Type-checked inside the pack test's temp project against the installed dist/*.d.ts (and in
// the workspace against src/): the published declarations must resolve for a consumer.
import { zeros, type NDArray } from '@tsgrad/tensor';
import { Tensor } from '@tsgrad/autograd';
import { MLP, parseSafetensors, serializeSafetensors } from '@tsgrad/nn';
import { loadCorpus } from '@tsgrad/nn/node';
import { applyLora } from '@tsgrad/eva';
import { loadAdapter } from '@tsgrad/eva/node';
import { mlpPermutationSpec } from '@tsgrad/wm';

const a: NDArray = zeros([1, 4]);
const model = new MLP([4, 3, 2], { seed: 0 });
const y: Tensor = model.call(new Tensor(a));
applyLora(model, { targetModules: ['layers.0'], r: 1 });
export const checked: [number, number] = [y.size, Object.keys(mlpPermutationSpec(model).permToAxes).length];
// the Node-only entries, and bytes in, bytes out in the universal one
export const nodeOnly: [typeof loadCorpus, typeof loadAdapter] = [loadCorpus, loadAdapter];
export const roundTrip = parseSafetensors(serializeSafetensors({ a })).tensors;
