/**
 * Whitening: A = components / sqrt(singular values), exactly; and PEFT parity on layers
 * that share an input (q/k/v), where PEFT divides the shared components in place once
 * per group member (`peftCompatibleWhitening`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeEva } from '../src/index.ts';
import { tinyGpt, tokenBatch } from './helpers.ts';

const QKV = ['q_proj', 'k_proj', 'v_proj'];
const loader = Array.from({ length: 12 }, (_, i) => ({ input: tokenBatch(100 + i, 4, 8) }));
const opts = { loraConfig: { targetModules: [...QKV, 'fc1'], r: 2 }, evaConfig: { tau: 0.9, rho: 1 } };

function rows(a: Float64Array, d: number): Float64Array[] {
  return Array.from({ length: a.length / d }, (_, i) => a.subarray(i * d, (i + 1) * d));
}

test('whiten: every A row is the plain component divided by sqrt of its singular value', () => {
  const model = tinyGpt(3);
  const plain = computeEva(model, loader, opts);
  const white = computeEva(model, loader, { ...opts, evaConfig: { ...opts.evaConfig, whiten: true } });
  for (const [name, a] of Object.entries(plain.stateDict)) {
    const s = white.singularValues.get(white.groups.get(name)!)!;
    const d = a.shape[1]!;
    const p = rows(a.toFloat64Array(), d);
    const w = rows(white.stateDict[name]!.toFloat64Array(), d);
    assert.ok(p.length > 0, name);
    p.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(w[i]![j]! - v / Math.sqrt(s[i]!)) < 1e-12, `${name}[${i}, ${j}]`)));
  }
});

test('peftCompatibleWhitening: q/k/v rows divided once per member (PEFT in place), unshared layers as tsgrad', () => {
  const model = tinyGpt(3);
  const white = { ...opts.evaConfig, whiten: true };
  const ours = computeEva(model, loader, { ...opts, evaConfig: white });
  const peft = computeEva(model, loader, { ...opts, evaConfig: white, peftCompatibleWhitening: true });
  const q = 'blocks.0.attn.q_proj';
  assert.is(ours.groups.get('blocks.0.attn.k_proj'), q);
  const s = ours.singularValues.get(q)!;
  const members = QKV.map((m) => `blocks.0.attn.${m}`);
  let differs = false;
  for (const name of members) {
    const d = ours.stateDict[name]!.shape[1]!;
    const a = rows(ours.stateDict[name]!.toFloat64Array(), d);
    const b = rows(peft.stateDict[name]!.toFloat64Array(), d);
    a.forEach((row, i) => {
      const n = members.filter((m) => ours.ranks.get(m)! > i).length; // members sharing row i
      assert.ok(n >= 2, `row ${i} is shared by q/k/v`);
      row.forEach((v, j) => {
        const expected = v / Math.sqrt(s[i]!) ** (n - 1);
        assert.ok(Math.abs(b[i]![j]! - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${name}[${i}, ${j}]`);
        if (Math.abs(b[i]![j]! - v) > 1e-9) differs = true;
      });
    });
  }
  assert.ok(differs, 'the two whitening rules give different q/k/v inits');
  for (const name of ['blocks.0.mlp.fc1', 'blocks.1.mlp.fc1']) {
    assert.equal(peft.stateDict[name]!.toFloat64Array(), ours.stateDict[name]!.toFloat64Array(), name);
  }
  // without whitening the option changes nothing
  const p0 = computeEva(model, loader, { ...opts, peftCompatibleWhitening: true });
  const o0 = computeEva(model, loader, opts);
  for (const name of members) assert.equal(p0.stateDict[name]!.toFloat64Array(), o0.stateDict[name]!.toFloat64Array(), name);
});

test('peftCompatibleWhitening: a non-boolean is refused by name', () => {
  assert.throws(() => computeEva(tinyGpt(3), loader, { ...opts, peftCompatibleWhitening: 1 as unknown as boolean }), /peftCompatibleWhitening must be true or false, got 1/);
});

test.run();
