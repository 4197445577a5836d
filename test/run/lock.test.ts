import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { LOCK_FILE, RunLockedError, acquireRunLock, runLockOwner } from '../../src/run/lock';
import { train } from '../../src/training/trainer';
import { CLI, tempDir, tinyConfig } from '../helpers';

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a second owner in the same process is re-entrant; the last release removes the lock', () => {
  const dir = tempDir();
  const a = acquireRunLock(dir, { purpose: 'train' });
  const b = acquireRunLock(dir, { purpose: 'eval' });
  assert.equal(runLockOwner(dir)?.pid, process.pid);
  assert.equal(runLockOwner(dir)?.purpose, 'train');
  b.release();
  assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
  a.release();
  a.release();
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
  assert.equal(runLockOwner(dir), null);
});

test('a lock held by a live process is refused, naming the owner', async () => {
  const dir = tempDir();
  // a child process takes the lock and waits
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const l = require(${JSON.stringify(path.resolve(__dirname, '../../src/run/lock.js'))}); l.acquireRunLock(process.argv[1], { purpose: 'train', command: 'ctlab train --out x' }); process.stdout.write('locked\\n'); setTimeout(() => {}, 60000);`,
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('locked')) resolve();
      });
      child.on('exit', () => reject(new Error('child exited before locking')));
    });
    assert.throws(
      () => acquireRunLock(dir, { purpose: 'resume' }),
      (e: unknown) =>
        e instanceof RunLockedError &&
        e.owner?.pid === child.pid &&
        e.message.includes(`${dir} is in use: train by pid ${child.pid} on ${os.hostname()}`) &&
        e.message.includes('ctlab train --out x'),
    );
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  // its owner is now dead: taken over with a warning
  const warnings: string[] = [];
  const l = acquireRunLock(dir, { purpose: 'resume', warn: (m) => warnings.push(m) });
  assert.equal(runLockOwner(dir)?.pid, process.pid);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', new RegExp(`previous owner \\(train by pid ${child.pid} .*\\) is gone; taking the run directory over`));
  l.release();
});

test('an owner on another host is refused unless isGone says it has ended', () => {
  const dir = tempDir();
  const foreign = {
    pid: deadPid(),
    host: 'node-17.cluster',
    startedAt: '2026-12-01T00:00:00.000Z',
    command: 'ctlab run-job s --index 3',
    purpose: 'job',
    slurmJobId: '41_3',
  };
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(foreign));
  assert.throws(
    () => acquireRunLock(dir, { purpose: 'train' }),
    /job by pid \d+ on node-17\.cluster, Slurm job 41_3 .*ctlab cannot see processes on node-17\.cluster/,
  );
  const warnings: string[] = [];
  const l = acquireRunLock(dir, { purpose: 'train', isGone: (o) => o.slurmJobId === '41_3', warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  l.release();
});

test('a fresh unreadable lock file is refused; an old one is taken over', () => {
  const dir = tempDir();
  const file = path.join(dir, LOCK_FILE);
  fs.writeFileSync(file, '{"pid": 12');
  assert.throws(() => acquireRunLock(dir, { purpose: 'train' }), /is being written by another process/);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
  const warnings: string[] = [];
  acquireRunLock(dir, { purpose: 'train', warn: (m) => warnings.push(m) }).release();
  assert.match(warnings[0] ?? '', /held no readable owner/);
});

test('train refuses a directory another train owns, and releases it at the end', async () => {
  const dir = tempDir();
  const other = { pid: process.ppid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'ctlab train --out d', purpose: 'train' };
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(other));
  await assert.rejects(
    train(tinyConfig('ict', { steps: 4 }), { outDir: dir, progress: false, backend: 'cpu' }),
    new RegExp(`is in use: train by pid ${process.ppid}`),
  );
  assert.equal(fs.existsSync(path.join(dir, 'metrics.jsonl')), false, 'nothing was written into the owned directory');
  fs.rmSync(path.join(dir, LOCK_FILE));
  const r = await train(tinyConfig('ict', { steps: 4 }), { outDir: dir, progress: false, backend: 'cpu' });
  assert.equal(r.steps, 4);
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
});

test('two ctlab train --out <same dir> started together: exactly one runs', async () => {
  const dir = tempDir();
  const args = [CLI, 'train', '--preset', 'ict', '--data', 'eight-gaussians', '--steps', '30', '--out', dir, '--no-progress'];
  const env = { ...process.env, CTLAB_BACKEND: 'cpu' };
  const run = (): Promise<{ code: number | null; err: string }> =>
    new Promise((resolve) => {
      const c = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('exit', (code) => resolve({ code, err }));
    });
  const [a, b] = await Promise.all([run(), run()]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 1], `exit codes ${a.code} / ${b.code}\n${a.err}\n${b.err}`);
  const loser = a.code === 0 ? b : a;
  assert.match(loser.err, /is in use: train by pid \d+/);
  const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const trainSteps = lines
    .map((l) => JSON.parse(l) as { kind: string; step: number })
    .filter((r) => r.kind === 'train')
    .map((r) => r.step);
  assert.deepEqual(trainSteps, [...new Set(trainSteps)], 'one writer: no step logged twice');
});

test('an owner killed but not yet reaped by its parent (a zombie) counts as gone', async () => {
  // perl forks a child that exits at once and never reaps it: the child stays a zombie while perl sleeps
  const parent = spawn('perl', ['-e', '$| = 1; my $c = fork(); if ($c == 0) { exit 0 } print "$c\\n"; sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombie = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  try {
    let state = '';
    for (let i = 0; i < 100 && state !== 'Z'; i++) {
      const stat = fs.readFileSync(`/proc/${zombie}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state, 'Z', 'the child is a zombie');
    const dir = tempDir();
    const owner = { pid: zombie, host: os.hostname(), startedAt: new Date().toISOString(), command: 'ctlab train --out d', purpose: 'train' };
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(owner));
    const warnings: string[] = [];
    acquireRunLock(dir, { purpose: 'resume', warn: (m) => warnings.push(m) }).release();
    assert.match(warnings[0] ?? '', new RegExp(`train by pid ${zombie} .* is gone; taking the run directory over`));
  } finally {
    parent.kill('SIGKILL');
  }
});
