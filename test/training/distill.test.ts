import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { validateConfig, type TrainConfig } from '../../src/config/schema';
import { consistencyFunction } from '../../src/consistency/model';
import { buildNetwork } from '../../src/models/build';
import type { Network } from '../../src/models/types';
import { sampleDistances } from '../../src/metrics/evaluate';
import { loadDataset } from '../../src/data/source';
import { listCheckpoints, loadCheckpoint } from '../../src/training/checkpoint';
import { ctLossAndGrads, drawStep, NoiseLevelTable, stepContext, trainStep } from '../../src/training/ct-step';
import {
  drawEdmStep,
  edmDenoise,
  edmLossWeight,
  edmNfe,
  edmScalings,
  edmSigmas,
  pfOdeStep,
  sampleEdm,
  type DistillTeacher,
  type Denoiser,
} from '../../src/training/edm-step';
import { createModelState } from '../../src/training/model-state';
import { karrasSigmas } from '../../src/schedules/karras';
import { checkTeacher, loadTeacher } from '../../src/training/teacher';
import { readMetrics, runPaths } from '../../src/training/run-dir';
import { train } from '../../src/training/trainer';
import { CLI, tempDir, tinyConfig } from '../helpers';

const SD = 0.5;

before(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

/** A network with F ≡ 0: its EDM denoiser is c_skip(σ)·x = σd²/(σ²+σd²)·x, the exact denoiser of data N(0, σd²I). */
function analyticNet(dim: number): Network {
  return {
    params: [],
    dataDim: dim,
    init: () => [],
    dropoutShapes: () => [],
    apply: (_w, xIn) => tf.zerosLike(xIn),
  };
}

/** Gaussian data N(0, σd²I) in 2D, row-major. */
function gaussianData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 2);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i += 2) {
    // Box-Muller on a small LCG (deterministic, independent of the kit's Rng)
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u1 = (s + 1) / 4294967297;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u2 = s / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = SD * r * Math.cos(2 * Math.PI * u2);
    out[i + 1] = SD * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

function tinyEdm(override: Record<string, unknown> = {}): TrainConfig {
  return tinyConfig('edm', override);
}

function tinyCd(teacher: string, override: Record<string, unknown> = {}): TrainConfig {
  const base = tinyConfig('cd', override);
  return validateConfig({ ...base, method: { kind: 'cd', teacher, n: 18, solver: 'heun' } });
}

function finalTensors(dir: string): Map<string, Float32Array> {
  const newest = listCheckpoints(runPaths(dir).checkpoints)[0];
  assert.ok(newest, `${dir}: no checkpoint`);
  return new Map(loadCheckpoint(newest.file).tensors.map((t) => [t.name, t.data]));
}

describe('EDM preconditioning (Karras et al. 2022, Table 1)', () => {
  it('matches golden values of c_skip, c_out, c_in, c_noise and λ', () => {
    const a = edmScalings(1, SD); // σ² + σd² = 1.25
    assert.ok(Math.abs(a.cSkip - 0.2) < 1e-15);
    assert.ok(Math.abs(a.cOut - 0.4472135954999579) < 1e-15);
    assert.ok(Math.abs(a.cIn - 0.8944271909999159) < 1e-15);
    assert.equal(a.cNoise, 0);
    const b = edmScalings(80, SD); // σ² + σd² = 6400.25
    assert.ok(Math.abs(b.cSkip - 0.25 / 6400.25) < 1e-18);
    assert.ok(Math.abs(b.cOut - 40 / Math.sqrt(6400.25)) < 1e-14);
    assert.ok(Math.abs(b.cNoise - 0.25 * Math.log(80)) < 1e-15);
    assert.ok(Math.abs(edmLossWeight(1, SD) - 5) < 1e-14); // (1 + 0.25)/(0.5)²
    assert.ok(Math.abs(edmLossWeight(0.002, SD) - (0.002 ** 2 + 0.25) / 0.001 ** 2) < 1e-6);
    for (const s of [0.002, 0.3, 2, 80]) assert.ok(Math.abs(edmLossWeight(s, SD) * edmScalings(s, SD).cOut ** 2 - 1) < 1e-12, 'λ = 1/c_out²');
    assert.throws(() => edmScalings(0), /sigma must be a finite number > 0/);
  });

  it("builds EDM's Karras sampling grid and counts NFE as 2N − 1 (Heun) and N (Euler)", () => {
    const s = edmSigmas(18, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 });
    assert.equal(s.length, 19);
    assert.equal(s[0], 80);
    assert.equal(s[17], 0.002);
    assert.equal(s[18], 0);
    assert.equal(edmNfe(s, 'heun'), 35);
    assert.equal(edmNfe(s, 'euler'), 18);
    assert.deepEqual(edmSigmas(1, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 }), [80, 0]);
  });

  it('the denoiser of a network with F ≡ 0 is σd²/(σ²+σd²)·x', () => {
    const x = tf.tensor2d([[1, -2]]);
    const d = edmDenoise(analyticNet(2), [], x, tf.tensor1d([1]), null, SD);
    const v = d.dataSync();
    assert.ok(Math.abs((v[0] as number) - 0.2) < 1e-7 && Math.abs((v[1] as number) + 0.4) < 1e-7);
    tf.dispose([x, d]);
  });
});

describe('Heun on the PF-ODE of N(0, σd²I)', () => {
  // x(σ) = x(σ0)·√((σ²+σd²)/(σ0²+σd²)): dx/dσ = (x − D)/σ = σx/(σ²+σd²)
  const solve = (steps: number, solver: 'heun' | 'euler'): number => {
    const grid = edmSigmas(steps, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 }).slice(0, -1); // stop at σ_min (the step to 0 is Euler)
    const x0 = [40, -24];
    const net = analyticNet(2);
    const denoise: Denoiser = (x, s) => edmDenoise(net, [], x, s, null, SD);
    let x: tf.Tensor = tf.tensor2d([x0]);
    for (let i = 0; i + 1 < grid.length; i++) {
      const next = pfOdeStep(denoise, x, tf.tensor1d([grid[i] as number]), tf.tensor1d([grid[i + 1] as number]), solver);
      x.dispose();
      x = next;
    }
    const got = Array.from(x.dataSync());
    x.dispose();
    const k = Math.sqrt((0.002 ** 2 + SD ** 2) / (80 ** 2 + SD ** 2));
    return Math.hypot((got[0] as number) - x0[0]! * k, (got[1] as number) - x0[1]! * k) / Math.hypot(x0[0]! * k, x0[1]! * k);
  };

  it('converges at second order in the step count (Euler at first)', () => {
    const heun = [8, 16, 32].map((n) => solve(n, 'heun'));
    const euler = [8, 16, 32].map((n) => solve(n, 'euler'));
    const order = (e: number[]): number[] => [Math.log2(e[0]! / e[1]!), Math.log2(e[1]! / e[2]!)];
    for (const p of order(heun)) assert.ok(p > 1.7 && p < 2.6, `Heun order ${order(heun)} (errors ${heun})`);
    for (const p of order(euler)) assert.ok(p > 0.7 && p < 1.4, `Euler order ${order(euler)} (errors ${euler})`);
    assert.ok(heun[2]! < euler[2]! / 4, `Heun ${heun[2]} vs Euler ${euler[2]} at 32 steps`);
  });
});

describe('consistency distillation', () => {
  it('builds the CD target from one teacher Heun step, as computed by hand', () => {
    const cfg = tinyCd('unused', { batchSize: 4, model: { hidden: 8, depth: 1 } });
    const train = gaussianData(64, 3);
    const studentNet = buildNetwork(cfg, [2]);
    const student = studentNet.init(5).map((w, i) => tf.variable(tf.tensor(w, studentNet.params[i]!.shape)));
    const teacherNet = buildNetwork(cfg, [2]);
    const tw = teacherNet.init(9).map((w, i) => tf.tensor(w, teacherNet.params[i]!.shape));
    const distill: DistillTeacher = { net: teacherNet, weights: tw, sigmaData: SD, solver: 'heun' };
    const table = new NoiseLevelTable(cfg).at(18);
    const draw = drawStep(cfg, 0, train, 2, table, []);
    const { loss, grads } = ctLossAndGrads(cfg, studentNet, student, student, draw, [2], null, distill);
    const got = loss.dataSync()[0] as number;

    // by hand: x_{n+1} = x + σ_{n+1}z; D from the teacher; Heun in float64; then f_θ⁻ = f_θ (stopgrad) at σ_n
    const b = 4;
    const xNext = Array.from({ length: b * 2 }, (_, j) => draw.x[j]! + draw.sigmaNext[Math.floor(j / 2)]! * draw.z[j]!);
    const D = (x: number[], s: number[]): number[] => {
      const t = edmDenoise(teacherNet, tw, tf.tensor2d(x, [b, 2]), tf.tensor1d(s), null, SD);
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const sN = Array.from(draw.sigmaNext);
    const s = Array.from(draw.sigma);
    const d1 = D(xNext, sN).map((dv, j) => (xNext[j]! - dv) / sN[Math.floor(j / 2)]!);
    const xE = xNext.map((v, j) => v + (s[Math.floor(j / 2)]! - sN[Math.floor(j / 2)]!) * d1[j]!);
    const d2 = D(xE, s).map((dv, j) => (xE[j]! - dv) / s[Math.floor(j / 2)]!);
    const xHat = xNext.map((v, j) => v + (s[Math.floor(j / 2)]! - sN[Math.floor(j / 2)]!) * 0.5 * (d1[j]! + d2[j]!));
    const f = (x: number[], sig: number[]): number[] => {
      const t = consistencyFunction(studentNet, student, tf.tensor2d(x, [b, 2]), tf.tensor1d(sig), null, { sigmaMin: 0.002, sigmaData: SD });
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const pred = f(xNext, sN);
    const target = f(xHat, s);
    let want = 0;
    for (let i = 0; i < b; i++) want += (draw.weight[i]! * ((pred[2 * i]! - target[2 * i]!) ** 2 + (pred[2 * i + 1]! - target[2 * i + 1]!) ** 2)) / 2;
    want /= b;
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1e-3, want), `loss ${got}, by hand ${want}`);
    assert.ok(want > 0);
    tf.dispose([loss, ...grads, ...student, ...tw]);
    studentNet.dispose();
    teacherNet.dispose();
  });

  it('with the analytic denoiser as teacher, learns the analytic consistency function of N(0, σd²I)', async () => {
    // f*(x, σ) = x·√((σ_min² + σd²)/(σ² + σd²)): the PF-ODE's map from σ to σ_min
    const cfg = tinyCd('analytic', {
      steps: 1500,
      batchSize: 256,
      model: { hidden: 64, depth: 2 },
      optimizer: { kind: 'radam', lr: 1e-3 },
      emaRate: 0.99,
      weighting: 'ict', // λ = 1/(σ_{n+1} − σ_n): with CM's λ ≡ 1 the low levels' tiny loss leaves f_θ there 10-20% off at this length
    });
    const data = gaussianData(4000, 11);
    const state = createModelState(cfg, [2]);
    const ctx = stepContext(cfg, state.net, data, [2], null, { net: analyticNet(2), weights: [], sigmaData: SD, solver: 'heun' });
    for (let k = 0; k < cfg.steps; k++) {
      const r = await trainStep(cfg, state, k, ctx);
      assert.ok(r.applied, `step ${k}: loss ${r.loss}`);
    }
    // CD trains f_θ on its N = 18 grid only: it is checked there (between levels the Fourier embedding of scale 16 interpolates freely)
    const grid = Array.from(karrasSigmas(18));
    const probe = gaussianData(400, 99);
    const fresh = createModelState(cfg, [2]);
    for (const sigma of [grid[3]!, grid[6]!, grid[8]!, grid[12]!, grid[17]!]) {
      const x = tf.tensor2d(
        probe.map((v) => (v * Math.sqrt(sigma ** 2 + SD ** 2)) / SD),
        [400, 2],
      ); // x ~ p_σ = N(0, (σ²+σd²)I)
      const relErr = (weights: readonly tf.Tensor[]): number => {
        const out = consistencyFunction(state.net, weights, x, tf.fill([400], sigma), null, { sigmaMin: 0.002, sigmaData: SD });
        const got = out.dataSync();
        const xs = x.dataSync();
        const k = Math.sqrt((0.002 ** 2 + SD ** 2) / (sigma ** 2 + SD ** 2));
        let err = 0;
        let ref = 0;
        for (let i = 0; i < got.length; i++) {
          err += (got[i]! - xs[i]! * k) ** 2;
          ref += (xs[i]! * k) ** 2;
        }
        out.dispose();
        return Math.sqrt(err / ref);
      };
      const rel = relErr(state.ema);
      const before = relErr(fresh.ema);
      assert.ok(
        rel < (sigma > 50 ? 0.3 : 0.12) && rel < before / 3,
        `σ = ${sigma}: relative RMS error of f_θ against the analytic consistency function ${rel.toFixed(3)} (untrained ${before.toFixed(3)})`,
      );
      x.dispose();
    }
    fresh.dispose();
    state.dispose();
  });
});

const TEACHER_CFG = tinyEdm({ steps: 1500, batchSize: 256, checkpointEvery: 500, model: { hidden: 64, depth: 2 }, optimizer: { kind: 'radam', lr: 2e-3 } });

describe('EDM and CD runs', () => {
  let work = '';
  let teacherDir = '';
  before(async () => {
    work = tempDir('ctlab-distill-');
    teacherDir = path.join(work, 'teacher');
    await train(TEACHER_CFG, { outDir: teacherDir, progress: false, backend: 'wasm' });
  });

  it("EDM training's loss falls, and its Heun samples beat an untrained network's", async () => {
    assert.ok(readMetrics(runPaths(teacherDir).metrics).some((m) => m.kind === 'train'));
    const cfg = TEACHER_CFG;
    const data = loadDataset(cfg.data, cfg.seed);
    const { teacher } = loadTeacher(tinyCd(teacherDir));
    const fresh = createModelState(cfg, [2]);
    // Most of EDM's weighted loss on eight blobs is irreducible: the posterior mean's own loss is ≈ 0.70 at σ = 0.2,
    // 0.92 at 0.5, 0.98 at 1 (tmp computation over the training points), so it is compared at σ = 0.1-0.5, on fixed batches.
    // At this length the kit's MLP closes little of that gap (≈ 1%: weak; the samples below are the stronger check).
    const evalLoss = (weights: readonly tf.Tensor[]): number => {
      let sum = 0;
      let count = 0;
      for (const sigma of [0.1, 0.2, 0.5]) {
        for (let k = 0; k < 10; k++) {
          const d = drawEdmStep(cfg, 100000 + k, data.train, 2, []);
          sum += tf.tidy(() => {
            const x = tf.tensor2d(d.x, [cfg.batchSize, 2]);
            const s = tf.fill<tf.Rank.R1>([cfg.batchSize], sigma);
            const y = tf.add(x, tf.mul(tf.tensor2d(d.n, [cfg.batchSize, 2]), sigma));
            const den = edmDenoise(fresh.net, weights, y, s, null, SD);
            return (tf.mean(tf.square(tf.sub(den, x))).dataSync()[0] as number) * edmLossWeight(sigma, SD);
          });
          count++;
        }
      }
      return sum / count;
    };
    const lossTrained = evalLoss(teacher.weights);
    const lossFresh = evalLoss(fresh.ema);
    assert.ok(lossTrained < 0.99 * lossFresh, `EDM loss at σ = 0.1, 0.2, 0.5 on fixed batches: trained ${lossTrained}, initial ${lossFresh}`);
    const grid = edmSigmas(18, cfg.noise);
    const trained = sampleDistances(await sampleEdm(teacher.net, teacher.weights, { sigmas: grid, solver: 'heun', n: 400, seed: 1, shape: [2] }), data.test, 2);
    const untrained = sampleDistances(await sampleEdm(fresh.net, fresh.ema, { sigmas: grid, solver: 'heun', n: 400, seed: 1, shape: [2] }), data.test, 2);
    assert.ok(trained.swd < 0.6 * untrained.swd, `Heun-18 SWD trained ${trained.swd}, untrained ${untrained.swd}`);
    teacher.dispose();
  });

  it("records the teacher's provenance in the CD student's run.json", async () => {
    const out = path.join(work, 'cd-prov');
    await train(tinyCd(teacherDir, { steps: 20 }), { outDir: out, progress: false, backend: 'wasm' });
    const run = JSON.parse(fs.readFileSync(runPaths(out).run, 'utf8')) as { cdTeacher: Record<string, unknown> };
    const t = JSON.parse(fs.readFileSync(runPaths(teacherDir).run, 'utf8')) as Record<string, unknown>;
    assert.equal(run.cdTeacher.dir, teacherDir);
    assert.equal(run.cdTeacher.configHash, t.configHash);
    assert.equal(run.cdTeacher.commit, t.commit);
    assert.equal(run.cdTeacher.step, TEACHER_CFG.steps);
  });

  it('refuses bad teachers before training, naming the file or field', async () => {
    const refuse = (cfg: TrainConfig, re: RegExp): void => assert.throws(() => checkTeacher(cfg), re);
    refuse(tinyCd(path.join(work, 'nowhere')), /config\.method\.teacher: .*nowhere is not a directory/);
    fs.mkdirSync(path.join(work, 'empty'));
    refuse(tinyCd(path.join(work, 'empty')), /not a ctlab run directory \(no config\.json\)/);
    const ct = path.join(work, 'ct');
    await train(tinyConfig('ict', { steps: 10 }), { outDir: ct, progress: false, backend: 'wasm' });
    refuse(tinyCd(ct), /config\.json is not an EDM diffusion run \(config\.method is absent/);
    const half = path.join(work, 'half');
    await train(tinyEdm({ steps: 40 }), { outDir: half, progress: false, backend: 'wasm', stopAfter: 20 });
    refuse(tinyCd(half), /run\.json has status 'stopped' at step 20 of 40; the teacher must be a completed run/);
    refuse(
      tinyCd(teacherDir, { data: { kind: 'toy2d', name: 'two-moons', trainSize: 2000, testSize: 400 } }),
      /teacher was trained on toy2d 'eight-gaussians'.*student's config\.data is toy2d 'two-moons'/,
    );
    // corrupt and missing final checkpoints
    const bad = path.join(work, 'bad');
    fs.cpSync(teacherDir, bad, { recursive: true });
    const ckpt = listCheckpoints(runPaths(bad).checkpoints)[0]!.file;
    const bytes = fs.readFileSync(ckpt);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5]! + 1) % 256;
    fs.writeFileSync(ckpt, bytes);
    assert.throws(() => loadTeacher(tinyCd(bad)), /config\.method\.teacher: the teacher's checkpoint .* is unreadable/);
    fs.rmSync(ckpt);
    refuse(tinyCd(bad), /the teacher's final checkpoint .* is missing/);
    // and the trainer refuses before writing anything
    const out = path.join(work, 'refused');
    await assert.rejects(train(tinyCd(half), { outDir: out, progress: false, backend: 'wasm' }), /must be a completed run/);
    assert.equal(fs.existsSync(runPaths(out).run), false);
  });

  it('resumes EDM and CD runs bit-identically to uninterrupted ones', async () => {
    for (const [name, cfg] of [
      ['edm', tinyEdm({ steps: 40, model: { dropout: 0.1 } })],
      ['cd', tinyCd(teacherDir, { steps: 40 })],
    ] as const) {
      const full = path.join(work, `${name}-full`);
      const parts = path.join(work, `${name}-parts`);
      await train(cfg, { outDir: full, progress: false, backend: 'wasm' });
      await train(cfg, { outDir: parts, progress: false, backend: 'wasm', stopAfter: 20 });
      await train(cfg, { outDir: parts, progress: false, backend: 'wasm', resume: true });
      const a = finalTensors(full);
      const b = finalTensors(parts);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      for (const [k, v] of a) assert.deepEqual(b.get(k), v, `${name}: ${k} differs after resume`);
    }
  });

  it('the CLI refuses the old --teacher ema|none for θ⁻, naming --target', () => {
    const r = spawnSync(process.execPath, [CLI, 'train', '--preset', 'ct', '--teacher', 'none', '--dry-run'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--teacher none: the consistency target θ⁻ is now --target \(--target stopgrad\)/);
    const ok = spawnSync(process.execPath, [CLI, 'train', '--preset', 'ct', '--target', 'stopgrad', '--dry-run'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as TrainConfig).target.kind, 'stopgrad');
    const cd = spawnSync(process.execPath, [CLI, 'train', '--preset', 'cd', '--teacher', teacherDir, '--dry-run'], { encoding: 'utf8' });
    assert.equal(cd.status, 0, cd.stderr);
    assert.deepEqual((JSON.parse(cd.stdout) as TrainConfig).method, { kind: 'cd', teacher: teacherDir, n: 18, solver: 'heun' });
  });
});
