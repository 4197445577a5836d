/**
 * Signals during native GEMMs. oneDNN 2.6's JIT GEMM (dnnl_sgemm) points the stack pointer into
 * the heap while it runs, so a signal handled then corrupts the heap (oneDNN#4845): before the
 * addon held signals around oneDNN calls, a child running these GEMMs under a stream of SIGUSR2
 * died with "corrupted size vs. prev_size" (glibc's abort, exit 134) within a few hundred signals,
 * and `node --cpu-prof` (SIGPROF) aborted a 2D training run the same way. Now the child must run
 * every GEMM, see the signals, and get the same result each time, at 1 and 2 threads (the OpenMP
 * workers must not take the signal either).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { nativeRequestFromEnv } from '../../src/backend/native/index';

const CHILD = path.join(__dirname, 'signal-child.js');
const OFF = nativeRequestFromEnv() === 'off';

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  sent: number;
  stdout: string;
  stderr: string;
}

function runUnderSignals(threads: number, engine: string, gemms: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, String(threads), engine, String(gemms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = 0;
    let timer: NodeJS.Timeout | null = null;
    const stop = (): void => {
      if (timer) clearInterval(timer);
      timer = null;
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!timer && stdout.includes('ready\n') && !stdout.includes('"gemms"')) {
        timer = setInterval(() => {
          if (child.exitCode === null && child.signalCode === null && !stdout.includes('"gemms"')) {
            child.kill('SIGUSR2');
            sent++;
          } else stop();
        }, 1);
      }
      if (stdout.includes('"gemms"')) stop();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      stop();
      resolve({ code, signal, sent, stdout, stderr });
    });
  });
}

for (const threads of [1, 2]) {
  test(
    `dnnl_sgemm GEMMs under a stream of signals (${threads} thread(s)): no heap corruption, the same result every call`,
    { skip: OFF ? 'CTLAB_NATIVE=0: no native kernels' : false },
    async () => {
      const r = await runUnderSignals(threads, 'onednn', 3000);
      assert.equal(r.signal, null, `child killed by ${r.signal}; stderr: ${r.stderr}`);
      assert.equal(r.code, 0, `child exited ${r.code}; stderr: ${r.stderr}`);
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, `no result line; stdout: ${r.stdout}`);
      const out = JSON.parse(line) as { signals: number; gemms: number; maxDiff: number };
      assert.equal(out.gemms, 3000);
      assert.equal(out.maxDiff, 0);
      // the signals really arrived while GEMMs ran (a test that sent none would prove nothing)
      assert.ok(out.signals >= 100, `only ${out.signals} signals were handled (${r.sent} sent)`);
    },
  );
}
