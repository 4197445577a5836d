import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../../src/backend';
import { validateConfig } from '../../src/config/schema';
import { parseArm, runNfe, type NfeArmResult } from '../../src/experiments/nfe';
import { train } from '../../src/training/trainer';
import { tempDir, tinyConfig } from '../helpers';

/** `ctlab nfe` with its EDM (Heun, Euler) and CD arms on tiny trained 2D runs. */
describe('ctlab nfe: EDM and CD arms', () => {
  let work = '';
  let edm = '';
  let cd = '';
  let ict = '';
  before(async () => {
    await initBackend({ backend: 'wasm', log: false });
    work = tempDir('ctlab-nfe-');
    edm = path.join(work, 'edm');
    cd = path.join(work, 'cd');
    ict = path.join(work, 'ict');
    await train(tinyConfig('edm', { steps: 1000, batchSize: 128, model: { hidden: 64, depth: 2 }, optimizer: { kind: 'radam', lr: 2e-3 } }), {
      outDir: edm,
      progress: false,
      backend: 'wasm',
    });
    await train(validateConfig({ ...tinyConfig('cd', { steps: 20 }), method: { kind: 'cd', teacher: edm, n: 18, solver: 'heun' } }), {
      outDir: cd,
      progress: false,
      backend: 'wasm',
    });
    await train(tinyConfig('ict', { steps: 10, seed: 3 }), { outDir: ict, progress: false, backend: 'wasm' });
  });

  it('infers the sampler from the run (EDM: edm-heun; CD: consistency) and takes an explicit one', () => {
    assert.deepEqual(parseArm(`t=${edm}`), { name: 't', run: edm, sampler: 'edm-heun' });
    assert.deepEqual(parseArm(`e:edm-euler=${edm}`), { name: 'e', run: edm, sampler: 'edm-euler' });
    assert.deepEqual(parseArm(`cd=${cd}`), { name: 'cd', run: cd, sampler: 'consistency' });
    assert.deepEqual(parseArm(`cd:consistency=${cd}`), { name: 'cd', run: cd, sampler: 'consistency' });
  });

  it('refuses bad arm specs with a message naming --arm', () => {
    assert.throws(() => parseArm('no-run'), /^RangeError: --arm 'no-run': expected <name>=<run directory> .* or <name>:<sampler>=<run directory>$/);
    assert.throws(() => parseArm(`=${edm}`), /--arm '=.*': expected <name>=<run directory>/);
    assert.throws(() => parseArm('x='), /--arm 'x=': expected <name>=<run directory>/);
    assert.throws(() => parseArm(`:edm-heun=${edm}`), /--arm ':edm-heun=.*': expected <name>=<run directory>/);
    assert.throws(() => parseArm(`x:dpm=${edm}`), /--arm 'x:dpm=.*': unknown sampler 'dpm' \(expected consistency, edm-heun, edm-euler\)/);
    assert.throws(() => parseArm(`x=${path.join(work, 'missing')}`), /--arm 'x=.*missing': cannot read the run's config/);
    assert.throws(
      () => parseArm(`x:consistency=${edm}`),
      /--arm 'x:consistency=.*': .*edm is an EDM run \(a denoiser, not a consistency model\); score it with sampler edm-heun or edm-euler/,
    );
    assert.throws(
      () => parseArm(`x:edm-heun=${cd}`),
      /--arm 'x:edm-heun=.*': sampler edm-heun solves an EDM run's PF-ODE, but .*cd is a cd run; use sampler consistency/,
    );
  });

  it('refuses duplicate arm names, arms on other data, and bad --edm-steps before any sampling', async () => {
    const out = path.join(work, 'bad');
    await assert.rejects(() => runNfe({ arm: [`a=${edm}`, `a=${cd}`], out }), /--arm a: two arms have this name/);
    await assert.rejects(
      () => runNfe({ arm: [`edm=${edm}`, `ict=${ict}`], out }),
      /--arm ict: its data or seed \(.* seed 3\) differ from arm edm's \(.* seed 0\); arms of one curve must share the held-out data/,
    );
    await assert.rejects(() => runNfe({ arm: [`edm=${edm}`], edmSteps: [2, 0], out }), /--edm-steps\[1\]: expected a positive integer, got 0/);
    assert.equal(fs.existsSync(out), false);
  });

  it('scores EDM Heun and Euler at their NFE (Heun 2N − 1, Euler N) and a CD student with the σ search, on one NFE axis', async () => {
    const out = path.join(work, 'nfe');
    const results = await runNfe({
      arm: [`heun=${edm}`, `euler:edm-euler=${edm}`, `cd=${cd}`],
      edmSteps: [1, 2, 3, 18],
      steps: [1, 2],
      iterations: 2,
      searchN: 150,
      n: 150,
      out,
      backend: 'wasm',
    });
    const [heun, euler, cdArm] = results as [NfeArmResult, NfeArmResult, NfeArmResult];
    assert.deepEqual(
      heun.rows.map((r) => [r.steps, r.nfe]),
      [
        [1, 1],
        [2, 3],
        [3, 5],
        [18, 35],
      ],
    );
    assert.deepEqual(
      euler.rows.map((r) => [r.steps, r.nfe]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [18, 18],
      ],
    );
    for (const arm of [heun, euler]) {
      assert.equal(arm.search, null);
      assert.equal(arm.fixedTwoStep, null);
      for (const r of arm.rows) {
        assert.equal(r.sigmas.length, r.steps + 1);
        assert.equal(r.sigmas[0], 80);
        assert.equal(r.sigmas[r.sigmas.length - 1], 0);
        for (let i = 1; i < r.sigmas.length; i++) assert.ok((r.sigmas[i] as number) < (r.sigmas[i - 1] as number), `descending: ${r.sigmas.join(', ')}`);
        assert.equal(r.searchScore, null);
        assert.ok(Number.isFinite(r.score) && r.score > 0);
      }
      // the 1-step solve is D(x, σ_max), about the data mean: worse than solving the ODE on EDM's 18-step grid
      // (Heun's 2-3 step solves can be worse still: one giant step from σ_max to σ_min)
      assert.ok(
        (arm.rows[3] as { score: number }).score < 0.8 * (arm.rows[0] as { score: number }).score,
        `${arm.arm.name}: ${arm.rows.map((r) => r.score.toFixed(3)).join(', ')}`,
      );
    }
    // N = 1: both solvers make the same single Euler step to 0
    assert.equal(heun.rows[0]?.score, euler.rows[0]?.score);
    assert.equal(cdArm.arm.sampler, 'consistency');
    assert.deepEqual(
      cdArm.rows.map((r) => [r.steps, r.nfe, r.sigmas.length]),
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
    );
    assert.ok(cdArm.search && cdArm.fixedTwoStep);
    const record = JSON.parse(fs.readFileSync(path.join(out, 'record.json'), 'utf8')) as { arms: NfeArmResult[] };
    assert.deepEqual(
      record.arms.map((a) => [a.arm.name, a.arm.sampler, a.rows.map((r) => r.nfe)]),
      [
        ['heun', 'edm-heun', [1, 3, 5, 35]],
        ['euler', 'edm-euler', [1, 2, 3, 18]],
        ['cd', 'consistency', [1, 2]],
      ],
    );
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    assert.match(md, /\|heun\|edm-heun\|35\|Karras grid, N = 18, then 0\|\|/);
    assert.match(md, /\|cd\|consistency \(fixed 2-step\)\|2\|80, 0\.821\|\|/);
    assert.equal(md.match(/floor: training examples/g)?.length, 1);
    const fig = JSON.parse(fs.readFileSync(path.join(out, 'nfe.json'), 'utf8')) as {
      data: { name: string; x: number[] }[];
      layout: { xaxis: { type?: string }; yaxis: { type?: string } };
    };
    assert.deepEqual(
      fig.data.map((t) => [t.name, t.x]),
      [
        ['heun (edm-heun)', [1, 3, 5, 35]],
        ['euler (edm-euler)', [1, 2, 3, 18]],
        ['cd (consistency)', [1, 2]],
      ],
    );
    assert.equal(fig.layout.xaxis.type, 'log');
    assert.equal(fig.layout.yaxis.type, 'log');
  });
});
