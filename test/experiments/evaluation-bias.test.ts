import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { biasExcess, biasFinding, biasFit, biasRatio, INDEPENDENT_NET, LOSS_NET, type BiasRun } from '../../src/experiments/evaluation-bias';

function run(label: string, lossNet: string | null, independent: number, loss: number): BiasRun {
  return {
    label,
    dir: `/runs/${label}`,
    distance: lossNet ? 'lpips' : 'pseudo-huber',
    lossNet,
    fid1: { [INDEPENDENT_NET]: independent, [LOSS_NET]: loss },
    fid2: { [INDEPENDENT_NET]: independent, [LOSS_NET]: loss },
  };
}

// pixel-loss runs on the power law FID_loss = 2·FID_ind^1.5 (log: ln 2 + 1.5 x), with small scatter
const PIXEL = [
  run('a', null, 4, 2 * 4 ** 1.5 * 1.02),
  run('b', null, 9, 2 * 9 ** 1.5 * 0.98),
  run('c', null, 16, 2 * 16 ** 1.5 * 1.01),
  run('d', null, 25, 2 * 25 ** 1.5),
];

describe('evaluation bias', () => {
  it('fits the pixel-loss runs in log-log space and measures each run against the fit', () => {
    const fit = biasFit(PIXEL);
    assert.ok(fit);
    assert.ok(Math.abs(fit.b - 1.5) < 0.05, `slope ${fit.b}`);
    assert.ok(Math.abs(fit.a - Math.log(2)) < 0.1, `intercept ${fit.a}`);
    assert.equal(fit.n, 4);
    // a run at 70% of the predicted loss-net FID
    const flattered = run('lpips', LOSS_NET, 9, 0.7 * 2 * 9 ** 1.5);
    assert.ok(Math.abs(biasExcess(flattered, fit) - 0.7) < 0.03);
    assert.equal(biasRatio(run('x', null, 10, 5)), 0.5);
    assert.equal(biasFit(PIXEL.slice(0, 2)), null, 'fewer than 3 pixel-loss runs: no fit');
  });

  it('says whether the LPIPS-style runs are flattered by their own feature net', () => {
    assert.match(biasFinding([...PIXEL, run('lpips', LOSS_NET, 9, 0.7 * 2 * 9 ** 1.5)]), /lpips 0\.70 \(below every pixel-loss run\).*: the bias shows/);
    assert.match(biasFinding([...PIXEL, run('lpips', LOSS_NET, 9, 2 * 9 ** 1.5)]), /inside the pixel-loss runs' spread.*no sign of the bias/);
    assert.match(biasFinding([...PIXEL, run('l1', LOSS_NET, 9, 0.7 * 2 * 9 ** 1.5), run('l2', LOSS_NET, 16, 1.3 * 2 * 16 ** 1.5)]), /mixed/);
    assert.match(
      biasFinding([...PIXEL, run('far', LOSS_NET, 100, 0.3 * 2 * 100 ** 1.5)]),
      /far 0\.30 \(below every pixel-loss run; its fmnist-strided FID is outside the pixel-loss runs' range, so this is an extrapolation\).*it cannot tell/,
    );
    assert.match(biasFinding(PIXEL), /not enough runs to tell: 0 trained on fmnist-cnn features, 4 on pixel distances/);
  });
});
