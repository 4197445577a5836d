import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readEval, readRunJson } from '../../src/run/run-dir';
import { CLI, tempDir } from '../helpers';

function ctlab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CTLAB_BACKEND: 'wasm' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ctlab CLI', () => {
  for (const cmd of ['train', 'sample', 'eval', 'quickstart']) {
    it(`${cmd} --help describes its options`, () => {
      const r = ctlab([cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: ctlab ${cmd}`));
    });
  }

  it('--dry-run prints the resolved config with flags applied', () => {
    const r = ctlab(['train', '--preset', 'ict', '--target', 'ema', '--embedding', 'positional', '--steps', '123', '--data', 'two-moons', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(cfg.steps, 123);
    assert.deepEqual(cfg.target, { kind: 'ema', mu0: 0.9, s0: 2, form: 'code' });
    assert.equal(cfg.teacher, undefined);
    assert.deepEqual((cfg.model as { embedding: unknown }).embedding, { kind: 'positional', dim: 32 });
    assert.equal((cfg.data as { name: string }).name, 'two-moons');
  });

  it('θ⁻ in the old spelling: a hand-written --config is refused naming config.target, a run record is read', () => {
    const dir = tempDir();
    const old = path.join(dir, 'old.json');
    fs.writeFileSync(old, JSON.stringify({ teacher: { kind: 'ema', mu0: 0.9, s0: 2, form: 'code' } }));
    let r = ctlab(['train', '--config', old, '--dry-run']);
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /--config .*old\.json: invalid config:\n\s+config\.teacher: the consistency target θ⁻ is now config\.target \(here: target: \{ kind: 'ema', mu0, s0, form \}\)/,
    );
    // the committed quickstart record (written before the rename: teacher none) is a run's own config.json
    const record = path.resolve(__dirname, '..', '..', '..', 'results', 'runs', 'quickstart', 'ict', 'config.json');
    assert.match(fs.readFileSync(record, 'utf8'), /"teacher": \{\s*"kind": "none"/, 'the record is still in the old spelling');
    r = ctlab(['train', '--config', record, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { target: unknown }).target, { kind: 'stopgrad' });
    r = ctlab(['ablate', 'teacher', '--runs', path.join(dir, 'runs')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ablation: 'teacher' is now called 'target'/);
  });

  it('refuses bad values naming the option or config field', () => {
    let r = ctlab(['train', '--steps', 'ten', '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--steps: expected an integer >= 1, got 'ten'/);
    r = ctlab(['train', '--weighting', 'cubic', '--dry-run']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--weighting.*cubic.*Allowed choices are uniform, ict/s);
    r = ctlab(['train', '--dropout', '1.5', '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config\.model\.dropout: .*1\.5/);
    r = ctlab(['train', '--threads', '0', '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--threads: expected an integer >= 1, got '0'/);
    r = ctlab(['train', '--data', 'spirals', '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--data: expected a toy set .* or a \.csv file .* got 'spirals'/);
    r = ctlab(['sample', '--run', tempDir(), '--sigmas', '80,abc']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--sigmas: expected comma-separated numbers/);
    r = ctlab(['sample', '--run', tempDir()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not a ctlab run directory \(no config\.json\)/);
  });

  it('trains on a CSV of points, and a malformed CSV gets its line number', () => {
    const dir = tempDir();
    const good = path.join(dir, 'points.csv');
    const rows = ['x,y'];
    for (let i = 0; i < 300; i++) rows.push(`${Math.cos(i) * 0.7},${Math.sin(i) * 0.7}`);
    fs.writeFileSync(good, rows.join('\n') + '\n');
    const out = path.join(dir, 'run');
    const cfgFile = path.join(dir, 'small.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ batchSize: 32, model: { hidden: 16, depth: 2 }, checkpointEvery: 10, evalEvery: 0 }));
    let r = ctlab(['train', '--data', good, '--config', cfgFile, '--steps', '20', '--out', out, '--no-progress', '--threads', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: .* at step 20/);
    assert.equal(readRunJson(out).backend.threads, 2, '--threads reaches the backend');
    r = ctlab(['sample', '--run', out, '--n', '50', '--sigmas', '80,0.821', '--no-progress', '--out', path.join(dir, 's.csv')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = fs.readFileSync(path.join(dir, 's.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'x,y');
    assert.equal(lines.length, 51);
    r = ctlab(['eval', '--run', out, '--n', '30']);
    assert.equal(r.status, 0, r.stderr);
    const ev = readEval(out);
    assert.equal(ev?.kind, 'points');
    if (ev?.kind !== 'points') return;
    assert.ok(ev.oneStep.swd > 0);
    assert.deepEqual(ev.multiStep.sigmas, [80, 0.821]);
    assert.equal(r.stdout.trim(), fs.readFileSync(path.join(out, 'eval.json'), 'utf8').trim(), 'prints what it wrote');

    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'x,y\n0.1,0.2\n0.3,0.4\n0.5,oops\n');
    r = ctlab(['train', '--data', bad, '--steps', '5', '--out', path.join(dir, 'bad-run'), '--no-progress']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.csv:4: .*'y'.*'oops'.*expected a finite number/);
  });
});
