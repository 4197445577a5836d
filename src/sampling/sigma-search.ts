/**
 * The intermediate noise levels of multistep sampling, chosen greedily as in the CM paper (Sec. 6 and
 * the official scripts/ternary_search.py): with σ_0 = σ_max fixed, each next σ is found by a ternary
 * search over log σ in (σ_min, previous σ) of a score on held-out data (lower is better), the earlier
 * ones held fixed. So the k-step list is a prefix of the (k+1)-step one. Candidates named in
 * `candidates` (e.g. the default 2-step σ) are scored too, and the best of all is kept, so the result
 * never scores worse than them on the search's own data.
 */
import { validateSigmas } from './multistep';

export interface SigmaSearchOptions {
  /** Total steps of the longest list (>= 1). */
  steps: number;
  sigmaMax: number;
  sigmaMin: number;
  /** Ternary-search iterations per step (default 8; each scores two lists). */
  iterations?: number;
  /** Extra candidates for step j (index 1 = the second σ); e.g. {1: [0.821]}. */
  candidates?: Readonly<Record<number, readonly number[]>>;
  /** Called after each scored list. */
  onScore?: (sigmas: readonly number[], score: number) => void;
}

export interface SigmaSearchResult {
  /** sigmas[k−1] is the k-step list. */
  lists: number[][];
  /** Score of each list on the search data. */
  scores: number[];
  /** Every list scored, in order. */
  trace: { sigmas: number[]; score: number }[];
}

export async function greedySigmaSearch(score: (sigmas: readonly number[]) => number | Promise<number>, opts: SigmaSearchOptions): Promise<SigmaSearchResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps: expected a positive integer, got ${opts.steps}`);
  const iters = opts.iterations ?? 8;
  if (!Number.isInteger(iters) || iters < 1) throw new RangeError(`iterations: expected a positive integer, got ${iters}`);
  const trace: SigmaSearchResult['trace'] = [];
  const memo = new Map<string, number>();
  const evalList = async (sigmas: number[]): Promise<number> => {
    const key = sigmas.join(',');
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    validateSigmas(sigmas, opts.sigmaMin, opts.sigmaMax);
    const s = await score(sigmas);
    memo.set(key, s);
    trace.push({ sigmas: [...sigmas], score: s });
    opts.onScore?.(sigmas, s);
    return s;
  };
  let current = [opts.sigmaMax];
  const lists = [current];
  const scores = [await evalList(current)];
  for (let j = 1; j < opts.steps; j++) {
    const prev = current[current.length - 1] as number;
    // search log σ inside (σ_min, prev) with margins (5% below prev, 1% above σ_min) so the list stays
    // strictly descending; where no room is left, the geometric mean of the two
    const lo = Math.log(opts.sigmaMin) + 0.01;
    const hiBound = Math.log(prev) - 0.05;
    const tried: [number, number][] = [];
    const at = async (u: number): Promise<number> => {
      const s = Math.exp(u);
      const v = await evalList([...current, s]);
      tried.push([s, v]);
      return v;
    };
    if (hiBound - lo < 0.01) {
      await at((Math.log(prev) + Math.log(opts.sigmaMin)) / 2);
    } else {
      let a = lo;
      let b = hiBound;
      for (let it = 0; it < iters; it++) {
        const m1 = a + (b - a) / 3;
        const m2 = b - (b - a) / 3;
        if ((await at(m1)) <= (await at(m2))) b = m2;
        else a = m1;
      }
      await at((a + b) / 2);
      for (const cand of opts.candidates?.[j] ?? []) if (Math.log(cand) <= hiBound && Math.log(cand) >= lo) await at(Math.log(cand));
    }
    const [bestSigma, bestScore] = tried.reduce((a, b) => (b[1] < a[1] ? b : a));
    current = [...current, bestSigma];
    lists.push(current);
    scores.push(bestScore);
  }
  return { lists, scores, trace };
}
