import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctCurriculum } from '../../src/schedules/curriculum';
import { targetEma, type TargetSpec } from '../../src/schedules/target-ema';
import { gridSize, targetEmaAt } from '../../src/training/ct-step';
import { buildConfig, ctPreset, ictPreset } from '../../src/config/presets';
import { ABLATIONS } from '../../src/experiments/ablations';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

const CT: TargetSpec = { kind: 'ema', mu0: 0.9, s0: 2, form: 'code' };
const PAPER: TargetSpec = { ...CT, form: 'paper' };

// μ = exp(s0 ln μ0 / (N − 1)) ('code', OAI-CM) or exp(s0 ln μ0 / N) ('paper'); golden values from python3.

test('targetEma at N = 2 (CT at k = 0): code 0.81, paper 0.9', () => {
  close(targetEma(CT, 2), 0.81, 1e-15, 'code');
  close(targetEma(PAPER, 2), 0.9, 1e-15, 'paper');
});

test('targetEma at N = 151 (CT at k = K) and N = 11 (iCT stage 0)', () => {
  // python3: exp(2*log(0.9)/150) = 0.9985961794038429, exp(2*log(0.9)/151) = 0.9986054697436056
  close(targetEma(CT, 151), 0.9985961794038429, 1e-15);
  close(targetEma(PAPER, 151), 0.9986054697436056, 1e-15);
  // python3: exp(2*log(0.9)/10) = 0.9791483623609768, exp(2*log(0.9)/11) = 0.9810258614868566
  close(targetEma(CT, 11), 0.9791483623609768, 1e-15);
  close(targetEma(PAPER, 11), 0.9810258614868566, 1e-15);
});

test('targetEma with ImageNet-64 settings (mu0 = 0.95): μ(N = 2) = 0.95²', () => {
  close(targetEma({ ...CT, mu0: 0.95 }, 2), 0.95 * 0.95, 1e-15);
  close(targetEma({ ...CT, mu0: 0.95 }, 201), Math.exp((2 * Math.log(0.95)) / 200), 1e-15);
});

test('target stopgrad θ (iCT): μ = 0 whatever N', () => {
  assert.equal(targetEma({ kind: 'stopgrad' }, 11), 0);
  assert.equal(targetEma({ kind: 'stopgrad' }, 1281), 0);
});

test('targetEma errors name the argument', () => {
  assert.throws(() => targetEma(CT, 1), /n \(the grid size N\(k\)\) must be an integer >= 2, got 1/);
  assert.throws(() => targetEma(CT, 2.5), /must be an integer >= 2, got 2.5/);
  assert.throws(() => targetEma({ ...CT, s0: 0 }, 5), /s0 must be an integer >= 1, got 0/);
  for (const mu0 of [0, 1, -0.1, 1.5, Number.NaN]) {
    assert.throws(() => targetEma({ ...CT, mu0 }, 5), /mu0 must be in \(0, 1\)/, `mu0=${mu0}`);
  }
});

test("targetEmaAt follows the config's own curriculum", () => {
  const ct = ctPreset();
  for (const k of [0, 1, 500, 1000, ct.steps]) close(targetEmaAt(ct, k), targetEma(CT, ctCurriculum(k, ct.steps)), 0, `ct k=${k}`);
  close(targetEmaAt(ct, 0), 0.81, 1e-15);
  assert.equal(targetEmaAt(ictPreset(), 0), 0);
  // The target ablation's 'ema' arm: iCT's curriculum (N(0) = 11) with CT's EMA target, so μ(0) ≈ 0.979, not 0.81.
  const target = ABLATIONS.find((a) => a.name === 'target');
  const arm = target?.arms.find((a) => a.name === 'ema');
  assert.ok(arm, 'target ablation has an ema arm');
  const cfg = buildConfig('ict', arm.override);
  assert.equal(gridSize(cfg, 0), 11);
  close(targetEmaAt(cfg, 0), 0.9791483623609768, 1e-15);
  // non-decreasing over the run, inside (0, 1)
  let prev = 0;
  for (let k = 0; k <= cfg.steps; k += 7) {
    const mu = targetEmaAt(cfg, k);
    assert.ok(mu >= prev && mu > 0 && mu < 1, `k=${k}: ${mu}`);
    prev = mu;
  }
});
