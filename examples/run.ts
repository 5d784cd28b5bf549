/**
 * `pnpm example <name> [options]`: runs one of the examples in this folder.
 *   mnist   784-512-512-512-10 MLP on the 8k/2k MNIST split (examples/mnist.ts)
 *   gpt     character-level GPT on Moby Dick (examples/gpt.ts)
 *   step    times one training step of the 784-512-512-10 MLP at batch 128 (examples/mlp-step.ts)
 *   fit     fits sin(3x) with a tiny network and plain autograd (examples/fit.ts)
 *   cnn     small CNN on the official 60k/10k MNIST split, saved as PyTorch-loadable safetensors (examples/cnn.ts)
 */
const EXAMPLES: Record<string, { file: string; about: string }> = {
  mnist: { file: './mnist.ts', about: '784-512-512-512-10 MLP on the 8k/2k MNIST split' },
  gpt: { file: './gpt.ts', about: 'character-level GPT on Moby Dick' },
  step: { file: './mlp-step.ts', about: 'time one training step of the 784-512-512-10 MLP at batch 128' },
  fit: { file: './fit.ts', about: 'fit sin(3x) with a tiny network and plain autograd' },
  cnn: { file: './cnn.ts', about: 'small CNN on the official 60k/10k MNIST split, saved as PyTorch-loadable safetensors' },
};

const name = process.argv[2];
const entry = name ? EXAMPLES[name] : undefined;
if (!entry) {
  console.error(`usage: pnpm example <name> [options]\n${Object.entries(EXAMPLES).map(([k, v]) => `  ${k.padEnd(6)} ${v.about}`).join('\n')}`);
  process.exit(name ? 1 : 0);
}
// The gpu backend registers itself only when imported, so TSGRAD_BACKEND=gpu needs this import.
if (process.env.TSGRAD_BACKEND === 'gpu') await import('@tsgrad/tensor/gpu');
// The example reads its own options from process.argv; drop the example name first.
process.argv.splice(2, 1);
await import(entry.file);
