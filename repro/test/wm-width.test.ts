import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { curveBarriers, type InterpolationCurve } from '@tsgrad/wm';
import type { CnnPairResult } from '../wm/cnn.ts';
import { PRESETS as WM_PRESETS } from '../wm/presets.ts';
import { WIDTH_PRESETS, widthEnvConfig } from '../wm-width/presets.ts';
import { summariseWidths, type WidthPoint } from '../wm-width/summary.ts';

/** A curve whose test loss rises by `bump` at the midpoint (max gap to the linear path = bump). */
function curve(bump: number): InterpolationCurve {
  const c = { lambdas: [0, 0.5, 1], trainLoss: [0.1, 0.1 + bump, 0.1], testLoss: [0.1, 0.1 + bump, 0.1], trainAcc: [0.9, 0.8, 0.9], testAcc: [0.9, 0.8, 0.9] };
  return { ...c, barrier: curveBarriers(c) };
}

function pair(naive: number, wm: number, r0: number, r03: number): CnnPairResult {
  return {
    endpoints: { testAcc: [0.9, 0.9], testLoss: [0.3, 0.3] },
    curves: { naive: curve(naive), wm: curve(wm) },
    wmNoReset: curve(wm + 1),
    l2Ratio: 0.9,
    R: { naive: [0.01, 0.01], wm: [r0, r03] },
    RPerLayer: { naive: { w: [0.01, 0.01] }, wm: { w: [r0, r03] } },
    wmSweeps: 3,
    invarianceMaxAbsDiff: 0,
  };
}

const point = (width: number, wm: number[], r03 = 0.2): WidthPoint => ({
  arch: 'vgg11',
  width,
  training: wm.map((_, s) => ({ seed: s, seconds: 1, finalLoss: 0.1 })),
  pairs: wm.map((b, i) => pair(2 + 0.1 * i, b, 0.1, r03)),
});

test('summariseWidths: a WM barrier that falls with width in every pair holds, one that rises does not', () => {
  const cfg = WIDTH_PRESETS.standard.cnn;
  const falling = summariseWidths([point(0.25, [1.5, 1.7, 1.6]), point(0.5, [0.9, 1.0, 1.1]), point(1, [0.05, 0.07, 0.04])], cfg, 4000);
  const trend = falling.verdicts.find((v) => v.claim.startsWith("WM's barrier shrinks"))!;
  assert.is(trend.held, true);
  assert.match(trend.claim, /width 0.25 -> 1\)/);
  assert.ok(Math.abs((trend.value as { meanDiff: number }).meanDiff - (0.0533333 - 1.6)) < 1e-6);
  // at the widest width the WM barrier is below 0.1 and below naive in every pair: LMC holds there
  const lmc = falling.verdicts.find((v) => v.claim.startsWith('LMC after WM'))!;
  assert.match(lmc.claim, /at width 1$/);
  assert.is(lmc.held, true);
  assert.is(falling.points.length, 3);
  assert.equal(falling.points[2]!.barrier.wm.lossMaxGap.values.map((v) => +v.toFixed(6)), [0.05, 0.07, 0.04]);

  const rising = summariseWidths([point(0.25, [0.5, 0.6, 0.55]), point(1, [0.9, 1.0, 0.95])], cfg, 4000);
  assert.is(rising.verdicts.find((v) => v.claim.startsWith("WM's barrier shrinks"))!.held, false);
  // flat spectra (R(0.3) = R(0) in every pair) make the R claim not applicable
  const flat = summariseWidths([point(0.25, [1, 1.1, 1.2], 0.1), point(1, [0.9, 1.0, 0.95], 0.1)], cfg, 4000);
  assert.is(flat.verdicts.find((v) => v.claim.startsWith('Large singular vectors'))!.held, null);
});

test('width presets: widths ascend, standard keeps the WM standard CNN protocol (so its width-1/4 row is the WM run\'s), CNN pairs on the official split', () => {
  for (const p of Object.values(WIDTH_PRESETS)) {
    for (const arch of p.cnn.archs) {
      const w = p.widths[arch]!;
      assert.ok(w.length >= 2, `${arch} needs two widths or more`);
      assert.ok(w.every((x, i) => i === 0 || x > w[i - 1]!), `${arch} widths ascend`);
    }
  }
  const s = WIDTH_PRESETS.standard;
  assert.equal({ ...s.cnn, width: 0 }, { ...WM_PRESETS.standard.cnn, width: 0 });
  assert.ok(s.widths.vgg11!.includes(WM_PRESETS.standard.cnn.width));
  assert.is(s.data, 'official');
  assert.is(widthEnvConfig('standard').cnn, s.cnn);
});

test.run();
