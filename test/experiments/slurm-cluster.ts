/**
 * A real one-node Slurm cluster for tests: munged, slurmctld and slurmd started as root from a fresh
 * temporary directory (no /etc, no systemd), on free ports, and stopped by the PIDs in their pid files.
 * The configuration is the one environment.md measured to work here (Slurm 22.05, munge 0.5).
 * Debian's slurm-wlm and munge are installed through scripts/system-deps.sh when missing. Every step
 * that cannot be done throws with the reason, so a test that needs the cluster fails instead of
 * skipping.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SlurmCluster {
  dir: string;
  /** Environment for Slurm client commands (SLURM_CONF) on top of process.env. */
  env: NodeJS.ProcessEnv;
  /** Stop the three daemons by PID (idempotent); returns what could not be stopped. */
  stop(): Promise<string[]>;
}

const REPO = path.resolve(__dirname, '..', '..', '..');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ok: r.status === 0, out };
}

function have(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).ok;
}

/** Install slurm-wlm + munge when missing (scripts/system-deps.sh), or throw saying why not. */
function ensurePackages(): void {
  const tools = ['sbatch', 'squeue', 'scontrol', 'scancel', 'slurmctld', 'slurmd', 'munged', 'mungekey'];
  if (tools.every(have)) return;
  const r = run('bash', [path.join(REPO, 'scripts', 'system-deps.sh')], { ...process.env, CTLAB_SLURM: '1' });
  const missing = tools.filter((t) => !have(t));
  if (missing.length) {
    throw new Error(
      `Slurm cannot start: ${missing.join(', ')} missing after scripts/system-deps.sh (needs root and Debian's slurm-wlm munge; CTLAB_SKIP_APT=${process.env.CTLAB_SKIP_APT ?? 'unset'}): ${r.out}`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose working directory is inside `dir` (Linux /proc), other than this one. */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${e}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + path.sep)) out.push(Number(e));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await sleep(100);
  }
  throw new Error(`Slurm cannot start: ${what} not ready after ${ms / 1000} s: ${detail()}`);
}

/** Start a fresh cluster; on any failure the daemons already started are stopped and the reason thrown. */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  if (process.getuid?.() !== 0) throw new Error('Slurm cannot start: the test cluster runs its daemons as root (SlurmUser=root), and this is not root');
  ensurePackages();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-slurm-'));
  const p = (...xs: string[]): string => path.join(dir, ...xs);
  for (const d of ['munge', 'state', 'spool', 'log']) fs.mkdirSync(p(d), { mode: 0o755 });
  const pidFiles = { munged: p('munge', 'munged.pid'), slurmctld: p('slurmctld.pid'), slurmd: p('slurmd.pid') };
  let confFile: string | null = null;
  const stop = async (): Promise<string[]> => {
    const left: string[] = [];
    if (confFile) {
      // end this cluster's jobs first, so that no job step outlives slurmd
      const env = { ...process.env, SLURM_CONF: confFile };
      run('scancel', ['--user=root'], env);
      for (let i = 0; i < 100 && run('squeue', ['-h', '-o', '%i'], env).out !== ''; i++) await sleep(100);
    }
    // slurmd first (it ends the job steps it runs), then the controller, then munge
    for (const [name, file] of [
      ['slurmd', pidFiles.slurmd],
      ['slurmctld', pidFiles.slurmctld],
      ['munged', pidFiles.munged],
    ] as const) {
      const pid = readPid(file);
      if (pid === null || !alive(pid)) continue;
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL');
        await sleep(100);
      }
      if (alive(pid)) left.push(`${name} (pid ${pid})`);
    }
    // a job step (slurmstepd) that outlived slurmd works in this cluster's directory: found by its cwd, stopped by PID
    for (const pid of processesIn(dir)) {
      process.kill(pid, 'SIGKILL');
      await sleep(100);
      if (alive(pid)) left.push(`pid ${pid} (working in ${dir})`);
    }
    if (left.length === 0) fs.rmSync(dir, { recursive: true, force: true });
    return left;
  };
  try {
    const key = p('munge', 'munge.key');
    let r = run('mungekey', ['-c', '-k', key]);
    if (!r.ok) throw new Error(`Slurm cannot start: mungekey failed: ${r.out}`);
    fs.chmodSync(key, 0o600);
    const socket = p('munge', 'munge.socket.2');
    r = run('munged', [
      '--force',
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--log-file=${p('munge', 'munged.log')}`,
      `--pid-file=${pidFiles.munged}`,
      `--seed-file=${p('munge', 'munged.seed')}`,
    ]);
    if (!r.ok) throw new Error(`Slurm cannot start: munged failed: ${r.out}`);

    const hw = run('slurmd', ['-C']);
    const line = hw.out.split('\n').find((l) => l.startsWith('NodeName='));
    if (!hw.ok || !line) throw new Error(`Slurm cannot start: slurmd -C printed no node line: ${hw.out}`);
    const nodeLine = line.replace(/^NodeName=\S+/, 'NodeName=localhost NodeAddr=127.0.0.1');
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const conf = [
      'ClusterName=ctlabtest',
      'SlurmctldHost=localhost',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${pidFiles.slurmctld}`,
      `SlurmdPidFile=${pidFiles.slurmd}`,
      `SlurmctldLogFile=${p('log', 'slurmctld.log')}`,
      `SlurmdLogFile=${p('log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      'SchedulerParameters=batch_sched_delay=0',
      'MailProg=/bin/true',
      'ReturnToService=2',
      'MinJobAge=300',
      'KillWait=5',
      'SlurmdParameters=config_overrides',
      nodeLine,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n');
    confFile = p('slurm.conf');
    fs.writeFileSync(confFile, conf);
    const env = { ...process.env, SLURM_CONF: confFile };
    r = run('slurmctld', ['-f', confFile], env);
    if (!r.ok) throw new Error(`Slurm cannot start: slurmctld failed: ${r.out}`);
    r = run('slurmd', ['-f', confFile, '-N', 'localhost'], env);
    if (!r.ok) throw new Error(`Slurm cannot start: slurmd failed: ${r.out}`);
    const log = (f: string): string => {
      try {
        return fs.readFileSync(p('log', f), 'utf8').split('\n').slice(-8).join('\n');
      } catch {
        return '(no log)';
      }
    };
    await waitFor(
      'the node (sinfo: idle)',
      () => run('sinfo', ['-h', '-N', '-o', '%t'], env).out.startsWith('idle'),
      20_000,
      () => `${run('sinfo', ['-h', '-N', '-o', '%t %E'], env).out}\nslurmctld.log:\n${log('slurmctld.log')}\nslurmd.log:\n${log('slurmd.log')}`,
    );
    return { dir, env, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
