/**
 * The Slurm executor against a real Slurm: a one-node cluster (slurmctld, slurmd, munged) started
 * from a temporary directory for this file and stopped by PID afterwards (test/experiments/slurm-cluster.ts).
 * Where the cluster cannot start, every test here fails with the reason; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { findAblation } from '../../src/experiments/ablations';
import { planJobs, type Job } from '../../src/experiments/runner';
import { arraySpec, parseArrayIndices, parseScontrolJobs, slurmOwnerGone } from '../../src/experiments/slurm';
import { createSweep, readSweep, submitSweep, sweepStatus, type SweepTaskStatus } from '../../src/experiments/sweep';
import { acquireRunLock, LOCK_FILE, RunLockedError, type LockOwner } from '../../src/run/lock';
import { readMetrics, runPaths, writeJob } from '../../src/run/run-dir';
import { listCheckpoints, loadCheckpoint } from '../../src/training/checkpoint';
import { CLI, tempDir } from '../helpers';
import { startSlurmCluster, type SlurmCluster } from './slurm-cluster';

// tiny 2D runs: a 2x16 MLP, batch 32, small data sets (the evaluation of a 2,000-point test set would dominate)
const TINY = {
  batchSize: 32,
  model: { hidden: 16, depth: 2 },
  checkpointEvery: 10,
  evalEvery: 25,
  data: { kind: 'toy2d' as const, name: 'eight-gaussians', trainSize: 1000, testSize: 200 },
};
const ENV = { CTLAB_BACKEND: 'wasm', CTLAB_THREADS: '1' };

let cluster: SlurmCluster | undefined;
let env: NodeJS.ProcessEnv = process.env;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ctlab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function slurm(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Poll squeue until none of the jobs is queued or running (sbatch --wait polls too slowly). */
async function waitForJobs(ids: string[], ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (slurm('squeue', ['-h', '-j', ids.join(','), '-o', '%i']).trim() === '') return;
    await sleep(250);
  }
  throw new Error(`Slurm jobs ${ids.join(', ')} still queued or running after ${ms / 1000} s:\n${slurm('squeue', ['-j', ids.join(',')])}`);
}

async function waitUntil(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function lastTrainStep(dir: string): number {
  try {
    const steps = readMetrics(runPaths(dir).metrics)
      .filter((m) => m.kind === 'train')
      .map((m) => m.step);
    return steps[steps.length - 1] ?? 0;
  } catch {
    return 0;
  }
}

function taskState(dir: string, index: number): SweepTaskStatus {
  const t = sweepStatus(dir).tasks[index];
  assert.ok(t, `no task ${index}`);
  return t;
}

/** Every file under `root`, relative, sorted. */
function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * A report file with the two things that may differ between executors masked: the commands it
 * names (the plan's `ctlab ablate ... --executor slurm`, the report's own command) and the mean
 * wall-clock time per arm (a timing). Everything else must be byte for byte the same.
 */
function masked(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (!/\.(md|csv|json)$/.test(file)) return raw;
  let text = raw
    .toString('utf8')
    .replace(/`ctlab [^`]*`/g, '`<command>`')
    .replace(/"command": "ctlab [^"]*"/g, '"command": "<command>"'); // power.json
  if (file.endsWith('summary.json')) text = text.replace(/"wallMean": [0-9.]+/g, '"wallMean": <wall>');
  if (file.endsWith('summary.csv')) text = text.replace(/,[0-9.]+$/gm, ',<wall>'); // wall s (mean) is the last column
  if (file.endsWith('summary.md')) text = text.replace(/\|[0-9.]+\|$/gm, '|<wall>|');
  return Buffer.from(text);
}

describe('Slurm executor (a real one-node Slurm cluster)', () => {
  // every test awaits the cluster itself, so where it cannot start each one fails with the reason
  let starting: Promise<SlurmCluster> | undefined;
  const ready = async (): Promise<void> => {
    starting ??= startSlurmCluster().then((c) => {
      cluster = c;
      env = { ...process.env, ...c.env, ...ENV };
      process.env.SLURM_CONF = c.env.SLURM_CONF; // the library calls below run Slurm's clients from this process
      return c;
    });
    await starting;
  };
  after(async () => {
    const left = await cluster?.stop();
    delete process.env.SLURM_CONF;
    assert.deepEqual(left ?? [], [], 'daemons left running');
  });

  it("runs a 2 arms x 2 seeds ablation as one job array; its report is the local executor's, byte for byte", async () => {
    await ready();
    const work = tempDir();
    const cfg = path.join(work, 'tiny.json');
    fs.writeFileSync(cfg, JSON.stringify(TINY));
    const common = ['ablate', 'target', '--seeds', '2', '--steps', '50', '--config', cfg, '--no-progress'];
    const sweep = path.join(work, 'slurm', 'sweep');
    const sub = ctlab([
      ...common,
      '--runs',
      path.join(work, 'slurm', 'runs'),
      '--out',
      path.join(work, 'slurm', 'results'),
      '--executor',
      'slurm',
      '--sweep',
      sweep,
      '--max-parallel',
      '2',
    ]);
    assert.equal(sub.status, 0, sub.stderr);
    const m = /submitted Slurm job array (\d+) \(--array=0-3%2\), report job (\d+) after it/.exec(sub.stdout);
    assert.ok(m, sub.stdout);
    const [arrayJob, reportJob] = [m[1] as string, m[2] as string];
    assert.equal(readSweep(sweep).submissions[0]?.jobId, arrayJob, 'the job id is recorded in the sweep directory');
    const script = fs.readFileSync(path.join(sweep, 'sweep.sbatch'), 'utf8');
    assert.match(script, /^#SBATCH --signal=B:TERM@60$/m);
    assert.match(script, new RegExp(`^exec '${process.execPath}' '${CLI}' run-job '${sweep}' --index "\\$SLURM_ARRAY_TASK_ID"$`, 'm'));
    assert.match(script, /^export CTLAB_BACKEND='wasm'$/m);
    assert.match(script, /^export CTLAB_THREADS='1'$/m);
    assert.equal(fs.readFileSync(path.join(sweep, 'jobs.jsonl'), 'utf8').trim().split('\n').length, 4);

    // the same plan on the local executor meanwhile
    const local = ctlab([...common, '--runs', path.join(work, 'local', 'runs'), '--out', path.join(work, 'local', 'results')]);
    assert.equal(local.status, 0, local.stderr);
    await waitForJobs([arrayJob, reportJob]);

    const st = sweepStatus(sweep).tasks;
    assert.deepEqual(
      st.map((t) => [t.slurm?.state, t.slurm?.exitCode, t.run.status, t.run.step]),
      st.map(() => ['COMPLETED', '0:0', 'completed', 50]),
    );
    const report = fs.readFileSync(path.join(sweep, 'logs', `report-${reportJob}.out`), 'utf8');
    assert.match(report, /report: target ->/);
    const a = path.join(work, 'local', 'results');
    const b = path.join(work, 'slurm', 'results');
    assert.deepEqual(files(b), files(a));
    assert.ok(files(a).length >= 6, files(a).join(', '));
    assert.match(
      fs.readFileSync(path.join(b, 'target', 'summary.md'), 'utf8'),
      /^Provenance: `ctlab ablate target .* --executor slurm .*`, rebuilt by `ctlab report --runs /m,
    );
    for (const f of files(a)) assert.ok(masked(path.join(b, f)).equals(masked(path.join(a, f))), `${f} differs between the executors`);
    // same backend and threads, and the same evaluation records (metrics.jsonl's eval lines), in every run
    const backend = (d: string): string => {
      const b = (JSON.parse(fs.readFileSync(runPaths(d).run, 'utf8')) as { backend: { name: string; threads: number } }).backend;
      return `${b.name} x${b.threads}`;
    };
    const evals = (d: string): string[] =>
      fs
        .readFileSync(runPaths(d).metrics, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"eval"'));
    for (const t of st) {
      const other = path.join(work, 'local', 'runs', path.relative(path.join(work, 'slurm', 'runs'), t.dir));
      assert.equal(backend(t.dir), backend(other));
      assert.equal(backend(t.dir), 'wasm x1');
      assert.equal(evals(t.dir).length, 2, t.dir); // step 25 and the final one
      assert.deepEqual(evals(t.dir), evals(other), t.dir);
    }

    // idempotent: nothing to resubmit, and a task rerun by hand skips its finished run
    const again = ctlab(['sweep', 'resubmit', sweep]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to resubmit/);
    const rerun = ctlab(['run-job', sweep, '--index', '0']);
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stderr, /is complete already; nothing to do/);
  });

  it('a task stopped by SIGTERM (as --signal sends it) and one cancelled by scancel continue on resubmit to the weights of an uninterrupted run', async () => {
    await ready();
    const work = tempDir();
    const steps = 1200;
    const scale = { data: 'eight-gaussians', steps, seeds: 1, common: { ...TINY, checkpointEvery: 100, evalEvery: 0, logEvery: 50 } };
    const [job] = planJobs([findAblation('target')], scale, path.join(work, 'runs')).jobs as [Job];
    // the uninterrupted reference, run by the local worker meanwhile
    const ref: Job = { ...job, dir: path.join(work, 'reference', 'seed0') };
    writeJob(ref);
    const refRun = new Promise<number | null>((resolve) => {
      spawn(process.execPath, [CLI, 'job', runPaths(ref.dir).job, '--no-progress'], { env, stdio: 'ignore' }).on('exit', resolve);
    });
    const sweep = path.join(work, 'sweep');
    createSweep([job], { dir: sweep, name: 'cancel', command: 'test', runsRoot: path.join(work, 'runs'), data: 'eight-gaussians', cli: CLI, env });

    // 1: SIGTERM to the task (what --signal=B:TERM@60 sends before the time limit): checkpoint, exit 143, not COMPLETED
    const first = submitSweep(sweep);
    assert.ok(first);
    await waitUntil('the first attempt to train', () => lastTrainStep(job.dir) >= 200);
    slurm('scancel', ['--batch', '--signal=TERM', `${first.jobId}_0`]);
    await waitForJobs([first.jobId]);
    let t = taskState(sweep, 0);
    assert.equal(t.slurm?.state, 'FAILED');
    assert.equal(t.slurm?.exitCode, '143:0');
    assert.equal(t.run.status, 'stopped (SIGTERM)');
    const stoppedAt = t.run.step ?? 0;
    assert.ok(stoppedAt >= 200 && stoppedAt < steps, `stopped at ${stoppedAt}`);
    assert.equal(t.run.lastCheckpoint, path.basename(listCheckpoints(runPaths(job.dir).checkpoints)[0]?.file ?? ''));
    assert.equal(listCheckpoints(runPaths(job.dir).checkpoints)[0]?.step, stoppedAt, 'the checkpoint is at the step it stopped');
    assert.ok(t.resubmit);
    const text = ctlab(['sweep', 'status', sweep]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`${first.jobId}_0: failed, exit 143:0 .*stopped \\(SIGTERM\\) at step ${stoppedAt}/${steps}, checkpoint ckpt-0*${stoppedAt}\\.bin`),
    );

    // 2: resubmitted, it resumes; then cancelled outright
    let r = ctlab(['sweep', 'resubmit', sweep]);
    assert.equal(r.status, 0, r.stderr);
    const second = readSweep(sweep).submissions[1];
    assert.ok(second, r.stdout);
    assert.deepEqual(second.indices, [0]);
    await waitUntil('the second attempt to train past the first', () => lastTrainStep(job.dir) >= stoppedAt + 200);
    slurm('scancel', [`${second.jobId}_0`]);
    await waitForJobs([second.jobId]);
    t = taskState(sweep, 0);
    assert.equal(t.slurm?.state, 'CANCELLED');
    assert.ok((t.run.step ?? 0) > stoppedAt && (t.run.step ?? 0) < steps, `cancelled at ${t.run.step}`);
    const log = fs.readFileSync(path.join(sweep, 'logs', `${second.jobId}_0.out`), 'utf8');
    assert.match(log, new RegExp(`resuming .* from step ${stoppedAt}`));

    // 3: resubmitted again, it finishes with the uninterrupted run's weights
    r = ctlab(['sweep', 'resubmit', sweep]);
    assert.equal(r.status, 0, r.stderr);
    const third = readSweep(sweep).submissions[2];
    assert.ok(third);
    await waitForJobs([third.jobId]);
    t = taskState(sweep, 0);
    assert.deepEqual([t.slurm?.state, t.run.status, t.run.step, t.done], ['COMPLETED', 'completed', steps, true]);
    assert.equal(await refRun, 0);
    const a = loadCheckpoint(listCheckpoints(runPaths(ref.dir).checkpoints)[0]!.file);
    const b = loadCheckpoint(listCheckpoints(runPaths(job.dir).checkpoints)[0]!.file);
    assert.equal(b.step, steps);
    assert.deepEqual(
      b.tensors.map((x) => x.name),
      a.tensors.map((x) => x.name),
    );
    for (const [i, x] of a.tensors.entries()) assert.ok(Buffer.from(b.tensors[i]!.data.buffer).equals(Buffer.from(x.data.buffer)), `${x.name} differs`);
    const logged = readMetrics(runPaths(job.dir).metrics)
      .filter((x) => x.kind === 'train')
      .map((x) => x.step);
    assert.deepEqual(
      logged,
      Array.from({ length: steps / 50 }, (_, i) => (i + 1) * 50),
      'no step logged twice across the three attempts',
    );
    const events = fs
      .readFileSync(path.join(sweep, 'tasks', '0.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; outcome?: string; exitCode?: number });
    assert.deepEqual(
      events.filter((e) => e.event === 'end').map((e) => [e.outcome, e.exitCode]),
      [
        ['stopped', 143],
        ['stopped', 143],
        ['completed', 0],
      ],
    );
  });

  it('a task that fails (bad data path) shows as failed with its message and is the only one resubmitted', async () => {
    await ready();
    const work = tempDir();
    const points = path.join(work, 'points.csv');
    const rows = ['x,y'];
    for (let i = 0; i < 400; i++) rows.push(`${(Math.cos(i) * 2).toFixed(4)},${(Math.sin(i * 1.3) * 2).toFixed(4)}`);
    fs.writeFileSync(points, rows.join('\n') + '\n');
    const missing = path.join(work, 'moved', 'points.csv');
    const scale = { data: points, steps: 30, seeds: 1, common: { ...TINY, data: { kind: 'csv' as const, path: points, testFraction: 0.2 }, evalEvery: 0 } };
    const planned = planJobs([findAblation('target')], scale, path.join(work, 'runs')).jobs;
    assert.equal(planned.length, 2);
    const jobs = planned.map((j, i) => (i === 1 ? { ...j, config: { ...j.config, data: { kind: 'csv' as const, path: missing, testFraction: 0.2 } } } : j));
    const sweep = path.join(work, 'sweep');
    createSweep(jobs, { dir: sweep, name: 'fail', command: 'test', runsRoot: path.join(work, 'runs'), data: points, cli: CLI, env });
    const first = submitSweep(sweep);
    assert.ok(first);
    assert.equal(first.array, '0-1');
    await waitForJobs([first.jobId]);

    const text = ctlab(['sweep', 'status', sweep]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${first.jobId}_0: completed, exit 0:0 +completed at step 30/30`));
    assert.match(text.stdout, new RegExp(`${first.jobId}_1: failed, exit 1:0 \\[NonZeroExitCode\\] +not started`));
    assert.match(text.stdout, new RegExp(`error: .*no such file or directory.*${missing.replace(/[.]/g, '\\.')}.*\\(log: .*${first.jobId}_1\\.out\\)`, 'i'));
    assert.match(text.stdout, /ctlab sweep resubmit resubmits 1 \(index 1\)/);
    const dry = ctlab(['sweep', 'resubmit', sweep, '--dry-run']);
    assert.match(dry.stdout, /would resubmit index 1$/m);

    // the data is put back where the job looks for it; only the failed task runs again
    fs.mkdirSync(path.dirname(missing));
    fs.copyFileSync(points, missing);
    const r = ctlab(['sweep', 'resubmit', sweep]);
    assert.equal(r.status, 0, r.stderr);
    const second = readSweep(sweep).submissions[1];
    assert.ok(second, r.stdout);
    assert.deepEqual([second.indices, second.array, second.kind], [[1], '1', 'resubmit']);
    assert.match(r.stdout, new RegExp(`resubmit: index 1 as Slurm job array ${second.jobId} \\(--array=1\\)`));
    await waitForJobs([second.jobId]);
    const st = sweepStatus(sweep).tasks;
    assert.deepEqual(
      st.map((x) => [x.slurmTask, x.slurm?.state, x.run.status, x.error]),
      [
        [`${first.jobId}_0`, 'COMPLETED', 'completed', null],
        [`${second.jobId}_1`, 'COMPLETED', 'completed', null],
      ],
    );
  });

  it("takes over a run.lock left on another host only when the owner's Slurm job is no longer running", async () => {
    await ready();
    const work = tempDir();
    const out = `--output=${path.join(work, 'slurm-%j.out')}`;
    const done = slurm('sbatch', ['--parsable', out, '--wrap', 'true']).trim();
    const running = slurm('sbatch', ['--parsable', out, '--wrap', 'sleep 120']).trim();
    await waitUntil('the sleeping job to run', () => slurm('squeue', ['-h', '-j', running, '-o', '%T']).trim() === 'RUNNING', 30_000);
    await waitForJobs([done]);
    const lockIn = (dir: string, slurmJobId: string): void => {
      fs.mkdirSync(dir, { recursive: true });
      const owner: LockOwner = { pid: 1, host: 'node-elsewhere', startedAt: '2026-01-01T00:00:00Z', command: 'ctlab run-job', purpose: 'job', slurmJobId };
      fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(owner));
    };
    try {
      const warnings: string[] = [];
      const gone = path.join(work, 'gone');
      lockIn(gone, done);
      const lock = acquireRunLock(gone, { purpose: 'test', isGone: (o) => slurmOwnerGone(o), warn: (w) => warnings.push(w) });
      lock.release();
      assert.match(warnings.join('\n'), new RegExp(`previous owner \\(job by pid 1 on node-elsewhere, Slurm job ${done} .*is gone`));

      const busy = path.join(work, 'busy');
      lockIn(busy, running);
      assert.throws(
        () => acquireRunLock(busy, { purpose: 'test', isGone: (o) => slurmOwnerGone(o) }),
        (e: unknown) => e instanceof RunLockedError && new RegExp(`Slurm job ${running}`).test(e.message),
      );
      const owner = (id: string): LockOwner => ({ pid: 1, host: 'h', startedAt: '', command: '', purpose: 'job', slurmJobId: id });
      assert.equal(slurmOwnerGone(owner('987654321')), true, 'a job Slurm no longer knows has ended');
      assert.equal(slurmOwnerGone({ ...owner(''), slurmJobId: undefined }), false, 'no Slurm job: cannot tell');
      // a requeued task finds the lock of its own earlier attempt (same job id) on the node it ran on before
      assert.equal(slurmOwnerGone(owner(`${running}_3`), { SLURM_JOB_ID: '77', SLURM_ARRAY_JOB_ID: running, SLURM_ARRAY_TASK_ID: '3' }), true);
    } finally {
      slurm('scancel', [running]);
    }
  });
});

describe('Slurm executor refusals (no cluster needed)', () => {
  it('refuses Slurm flags on the local executor, options ctlab sets itself, and an index past jobs.jsonl', () => {
    const work = tempDir();
    let r = spawnSync(process.execPath, [CLI, 'ablate', 'target', '--runs', path.join(work, 'runs'), '--partition', 'cpu'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--partition applies to --executor slurm only/);
    r = spawnSync(process.execPath, [CLI, 'ablate', 'target', '--runs', path.join(work, 'runs'), '--executor', 'slurm', '--sbatch-arg=--array=0-1'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--sbatch-arg --array=0-1: ctlab sets this sbatch option itself/);
    const [job] = planJobs([findAblation('target')], { data: 'eight-gaussians', steps: 5, seeds: 1 }, path.join(work, 'runs')).jobs as [Job];
    const sweep = path.join(work, 'sweep');
    createSweep([job], { dir: sweep, name: 'x', command: 'test', runsRoot: path.join(work, 'runs'), data: 'eight-gaussians', cli: CLI, env: {} });
    assert.throws(
      () => createSweep([job], { dir: sweep, name: 'x', command: 'test', runsRoot: path.join(work, 'runs'), data: 'eight-gaussians', cli: CLI }),
      /holds a sweep already/,
    );
    r = spawnSync(process.execPath, [CLI, 'run-job', sweep, '--index', '4'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no job at index 4 \(jobs.jsonl has 1 line\(s\): indices 0-0\)/);
    assert.match(fs.readFileSync(path.join(sweep, 'sweep.sbatch'), 'utf8'), /^export CTLAB_THREADS='1'$/m, 'CTLAB_THREADS defaults to --cpus-per-task');
  });
});

describe('Slurm output parsing', () => {
  it('reads array specs and scontrol lines, pending ranges included', () => {
    assert.equal(arraySpec([3, 0, 1, 2, 5, 7, 8], 2), '0-3,5,7-8%2');
    assert.equal(arraySpec([1]), '1');
    assert.deepEqual(parseArrayIndices('0-3%2'), [0, 1, 2, 3]);
    assert.deepEqual(parseArrayIndices('1,4-8:2'), [1, 4, 6, 8]);
    assert.throws(() => parseArrayIndices('a-b'), /cannot read the array index list 'a-b'/);
    const states = parseScontrolJobs(
      [
        'JobId=7 ArrayJobId=5 ArrayTaskId=2-3%1 JobName=x JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 RunTime=00:00:00',
        'JobId=6 ArrayJobId=5 ArrayTaskId=1 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=143:0',
        'JobId=5 ArrayJobId=5 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None ExitCode=0:0',
      ].join('\n'),
    );
    assert.deepEqual(
      [...states].map(([i, s]) => [i, s.state, s.exitCode, s.reason]),
      [
        [2, 'PENDING', '0:0', 'JobArrayTaskLimit'],
        [3, 'PENDING', '0:0', 'JobArrayTaskLimit'],
        [1, 'FAILED', '143:0', 'NonZeroExitCode'],
        [0, 'COMPLETED', '0:0', 'None'],
      ],
    );
  });
});
