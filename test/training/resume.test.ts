import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { listCheckpoints, loadCheckpoint } from '../../src/training/checkpoint';
import { runPaths } from '../../src/training/run-dir';
import { CLI, tempDir } from '../helpers';

const OVERRIDE = {
  batchSize: 64,
  data: { kind: 'toy2d', name: 'two-moons', trainSize: 2000, testSize: 200 },
  model: { hidden: 32, depth: 2, dropout: 0.2 },
  checkpointEvery: 10,
  evalEvery: 0,
  logEvery: 10,
};

function trainArgs(cfgFile: string, out: string, extra: string[] = []): string[] {
  return [CLI, 'train', '--preset', 'ict', '--config', cfgFile, '--steps', '300', '--out', out, '--no-progress', '--backend', 'wasm', ...extra];
}

describe('resume after SIGKILL', () => {
  it('ends with the same weights as an uninterrupted run of the same seed', async () => {
    const work = tempDir();
    const cfgFile = path.join(work, 'override.json');
    fs.writeFileSync(cfgFile, JSON.stringify(OVERRIDE));
    const full = path.join(work, 'full');
    const killed = path.join(work, 'killed');

    const r1 = spawnSync(process.execPath, trainArgs(cfgFile, full), { encoding: 'utf8' });
    assert.equal(r1.status, 0, r1.stderr);

    // Start the same run, kill -9 it once a checkpoint past step 30 exists.
    const child = spawn(process.execPath, trainArgs(cfgFile, killed), { stdio: 'ignore' });
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const newest = listCheckpoints(runPaths(killed).checkpoints)[0];
        if (newest && newest.step >= 30) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve(newest.step);
        }
      }, 5);
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') {
          clearInterval(timer);
          reject(new Error(`child exited by itself (code ${code}) before it could be killed`));
        }
      });
    });
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r)); // reaped: its pid is gone
    const status = JSON.parse(fs.readFileSync(runPaths(killed).run, 'utf8')) as { status: string };
    assert.equal(status.status, 'running', 'the kill must interrupt the run');
    assert.ok(killedAt < 300);

    const r2 = spawnSync(process.execPath, [CLI, 'train', '--resume', '--out', killed, '--no-progress', '--backend', 'wasm'], { encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /resuming .* from step \d+/);

    const a = loadCheckpoint(listCheckpoints(runPaths(full).checkpoints)[0]!.file);
    const b = loadCheckpoint(listCheckpoints(runPaths(killed).checkpoints)[0]!.file);
    assert.equal(a.step, 300);
    assert.equal(b.step, 300);
    assert.deepEqual(
      b.tensors.map((t) => t.name),
      a.tensors.map((t) => t.name),
    );
    for (const [i, t] of a.tensors.entries()) {
      assert.deepEqual(Buffer.from(b.tensors[i]!.data.buffer), Buffer.from(t.data.buffer), `tensor ${t.name} differs after resume`);
    }
    // metrics were not duplicated by the replayed steps
    const steps = fs
      .readFileSync(runPaths(killed).metrics, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; kind: string })
      .filter((r) => r.kind === 'train')
      .map((r) => r.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 30 }, (_, i) => (i + 1) * 10),
    );
  });
});
