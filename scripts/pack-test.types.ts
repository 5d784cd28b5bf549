// Type-checked inside the pack test's temp project against the installed dist/*.d.ts (and in
// the workspace against src/): the published declarations must resolve for a consumer.
import { zeros, type NDArray } from '@tsgrad/tensor';
import { Tensor } from '@tsgrad/autograd';
import { MLP } from '@tsgrad/nn';
import { applyLora } from '@tsgrad/eva';
import { mlpPermutationSpec } from '@tsgrad/wm';

const a: NDArray = zeros([1, 4]);
const model = new MLP([4, 3, 2], { seed: 0 });
const y: Tensor = model.call(new Tensor(a));
applyLora(model, { targetModules: ['layers.0'], r: 1 });
export const checked: [number, number] = [y.size, Object.keys(mlpPermutationSpec(model).permToAxes).length];
