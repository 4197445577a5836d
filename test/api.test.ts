/** The package root exports the formulas under their documented names, with working values. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ctlab from '../src/index';

describe('package root', () => {
  it('exports every formula by name', () => {
    const s = ctlab.karrasSigmas(3);
    assert.equal(s[0], 0.002);
    assert.equal(s[2], 80);
    assert.equal(ctlab.ctCurriculum(0, 10), 2);
    assert.equal(ctlab.ictCurriculum(400, 400), 1281);
    assert.equal(ctlab.targetEma({ kind: 'ema', mu0: 0.9, s0: 2, form: 'code' }, 2), 0.81);
    assert.equal(ctlab.targetEmaAt(ctlab.ctPreset(), 0), 0.81);
    assert.equal(ctlab.SIGMA_MAX, 80);
    const p = ctlab.lognormalNoiseProbs(ctlab.karrasSigmas(11));
    assert.equal(p.length, 10);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(ctlab.pseudoHuberC(4), 0.00054 * 2);
    assert.deepEqual(ctlab.consistencyScalings(0.002), { cSkip: 1, cOut: 0, cIn: 1 / Math.sqrt(0.002 ** 2 + 0.25) });
    assert.equal(ctlab.ictWeight(1, 3), 0.5);
  });

  it('has presets and the training entry points', () => {
    assert.equal(ctlab.ictPreset().target.kind, 'stopgrad');
    assert.equal(ctlab.ctPreset().target.kind, 'ema');
    assert.equal(typeof ctlab.train, 'function');
    assert.equal(typeof ctlab.sampleConsistency, 'function');
    assert.equal(typeof ctlab.report.writeTable, 'function');
  });
});
