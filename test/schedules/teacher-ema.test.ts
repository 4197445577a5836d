import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctCurriculum } from '../../src/schedules/curriculum';
import { teacherEma, type TeacherEmaSpec } from '../../src/schedules/teacher-ema';
import { gridSize, teacherEmaAt } from '../../src/training/ct-step';
import { buildConfig, ctPreset, ictPreset } from '../../src/config/presets';
import { ABLATIONS } from '../../src/experiments/ablations';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

const CT: TeacherEmaSpec = { kind: 'ema', mu0: 0.9, s0: 2, form: 'code' };
const PAPER: TeacherEmaSpec = { ...CT, form: 'paper' };

// μ = exp(s0 ln μ0 / (N − 1)) ('code', OAI-CM) or exp(s0 ln μ0 / N) ('paper'); golden values from python3.

test('teacherEma at N = 2 (CT at k = 0): code 0.81, paper 0.9', () => {
  close(teacherEma(CT, 2), 0.81, 1e-15, 'code');
  close(teacherEma(PAPER, 2), 0.9, 1e-15, 'paper');
});

test('teacherEma at N = 151 (CT at k = K) and N = 11 (iCT stage 0)', () => {
  // python3: exp(2*log(0.9)/150) = 0.9985961794038429, exp(2*log(0.9)/151) = 0.9986054697436056
  close(teacherEma(CT, 151), 0.9985961794038429, 1e-15);
  close(teacherEma(PAPER, 151), 0.9986054697436056, 1e-15);
  // python3: exp(2*log(0.9)/10) = 0.9791483623609768, exp(2*log(0.9)/11) = 0.9810258614868566
  close(teacherEma(CT, 11), 0.9791483623609768, 1e-15);
  close(teacherEma(PAPER, 11), 0.9810258614868566, 1e-15);
});

test('teacherEma with ImageNet-64 settings (mu0 = 0.95): μ(N = 2) = 0.95²', () => {
  close(teacherEma({ ...CT, mu0: 0.95 }, 2), 0.95 * 0.95, 1e-15);
  close(teacherEma({ ...CT, mu0: 0.95 }, 201), Math.exp((2 * Math.log(0.95)) / 200), 1e-15);
});

test('no EMA teacher (iCT): μ = 0 whatever N', () => {
  assert.equal(teacherEma({ kind: 'none' }, 11), 0);
  assert.equal(teacherEma({ kind: 'none' }, 1281), 0);
});

test('teacherEma errors name the argument', () => {
  assert.throws(() => teacherEma(CT, 1), /n \(the grid size N\(k\)\) must be an integer >= 2, got 1/);
  assert.throws(() => teacherEma(CT, 2.5), /must be an integer >= 2, got 2.5/);
  assert.throws(() => teacherEma({ ...CT, s0: 0 }, 5), /s0 must be an integer >= 1, got 0/);
  for (const mu0 of [0, 1, -0.1, 1.5, Number.NaN]) {
    assert.throws(() => teacherEma({ ...CT, mu0 }, 5), /mu0 must be in \(0, 1\)/, `mu0=${mu0}`);
  }
});

test("teacherEmaAt follows the config's own curriculum", () => {
  const ct = ctPreset();
  for (const k of [0, 1, 500, 1000, ct.steps]) close(teacherEmaAt(ct, k), teacherEma(CT, ctCurriculum(k, ct.steps)), 0, `ct k=${k}`);
  close(teacherEmaAt(ct, 0), 0.81, 1e-15);
  assert.equal(teacherEmaAt(ictPreset(), 0), 0);
  // The teacher ablation's 'ema' arm: iCT's curriculum (N(0) = 11) with CT's EMA teacher, so μ(0) ≈ 0.979, not 0.81.
  const teacher = ABLATIONS.find((a) => a.name === 'teacher');
  const arm = teacher?.arms.find((a) => a.name === 'ema');
  assert.ok(arm, 'teacher ablation has an ema arm');
  const cfg = buildConfig('ict', arm.override);
  assert.equal(gridSize(cfg, 0), 11);
  close(teacherEmaAt(cfg, 0), 0.9791483623609768, 1e-15);
  // non-decreasing over the run, inside (0, 1)
  let prev = 0;
  for (let k = 0; k <= cfg.steps; k += 7) {
    const mu = teacherEmaAt(cfg, k);
    assert.ok(mu >= prev && mu > 0 && mu < 1, `k=${k}: ${mu}`);
    prev = mu;
  }
});
