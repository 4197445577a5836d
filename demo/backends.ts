/**
 * Backends in the page: wasm (with the kit's training kernels registered before it starts), webgl,
 * webgpu where the browser offers it, and cpu. A backend that fails or does not start within a time
 * limit is skipped with a note the page shows; `auto` times a few training steps of the current
 * config on each backend that starts and keeps the fastest.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerTrainingKernels } from '../src/backend/wasm/kernels';
import type { BackendChoice } from './settings';

export type BackendName = Exclude<BackendChoice, 'auto'>;
/** What `auto` tries (cpu is never the fastest; it is the last fallback). */
export const CANDIDATES: readonly BackendName[] = ['wasm', 'webgpu', 'webgl'];

export interface BackendReport {
  /** The backend in use. */
  name: BackendName;
  /** Why it was chosen, and what happened to the others. */
  notes: string[];
  /** Steps/s measured by `auto` per backend that started. */
  probe: Partial<Record<BackendName, number>>;
}

let wasmReady = false;

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start within ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Switch to one backend; throws with the reason when it does not start. */
export async function useBackend(name: BackendName, limitMs = 8000): Promise<void> {
  if (name === 'wasm' && !wasmReady) {
    registerTrainingKernels(); // before the wasm backend initialises (src/backend/wasm/kernels.ts)
    setWasmPaths(new URL('./', location.href).href);
    wasmReady = true;
  }
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error('webgpu: this browser offers no navigator.gpu');
  const ok = await timeout(tf.setBackend(name), limitMs, name);
  if (!ok) throw new Error(`${name}: the backend failed to initialise`);
  await tf.ready();
}

/**
 * Start the requested backend. By name: that one, or, if it fails, wasm then cpu with a note (never
 * silently). `auto`: probe each candidate with `probe` (steps/s) and keep the fastest.
 */
export async function startBackend(choice: BackendChoice, probe: () => Promise<number>): Promise<BackendReport> {
  const notes: string[] = [];
  if (choice !== 'auto') {
    try {
      await useBackend(choice);
      return { name: choice, notes: [`${choice}: as asked`], probe: {} };
    } catch (e) {
      notes.push(`${(e as Error).message}; falling back`);
      for (const fb of ['wasm', 'cpu'] as const) {
        if (fb === choice) continue;
        try {
          await useBackend(fb);
          notes.push(`${fb}: fallback`);
          return { name: fb, notes, probe: {} };
        } catch (e2) {
          notes.push((e2 as Error).message);
        }
      }
      throw new Error(notes.join('; '));
    }
  }
  const speeds: Partial<Record<BackendName, number>> = {};
  for (const name of CANDIDATES) {
    try {
      await useBackend(name);
      speeds[name] = await probe();
    } catch (e) {
      notes.push((e as Error).message);
    }
  }
  const ranked = (Object.entries(speeds) as [BackendName, number][]).sort((a, b) => b[1] - a[1]);
  const best = ranked[0];
  if (!best) throw new Error(`no backend started: ${notes.join('; ')}`);
  await useBackend(best[0]);
  notes.unshift(`auto: ${ranked.map(([n, v]) => `${n} ${v.toFixed(0)} steps/s`).join(', ')}; using ${best[0]}`);
  return { name: best[0], notes, probe: speeds };
}
