/**
 * The teaching page: train consistency models live on 2D data with the kit's own config schema, CT
 * step (TrainingSession over trainStep), sampler and sliced-Wasserstein metric, one or two
 * configurations side by side. Everything a test or a curious student needs is also on
 * `window.ctlabDemo` (settings, per-panel status, the backend report).
 */
import { karrasSigmas } from '../src/schedules/karras';
import { lognormalNoiseProbs, uniformNoiseProbs } from '../src/schedules/noise-levels';
import { gridSize } from '../src/training/ct-step';
import { TrainingSession } from '../src/training/session';
import { TOY2D_TEST_SEED, describeToy2d, isToy2dName, toy2d } from '../src/data/toy2d';
import { Rng } from '../src/util/rng';
import { TWO_STEP_SIGMA } from '../src/constants';
import type { TrainConfig } from '../src/config/schema';
import { startBackend, type BackendReport } from './backends';
import { COLORS, curve, fromCanvas, noiseGrid, scatter } from './plots';
import {
  BACKENDS,
  DATA_CHOICES,
  DRAWN,
  PRESET_NAMES,
  TECHNIQUES,
  defaultSettings,
  fromQuery,
  panelConfig,
  presetChoices,
  quantize,
  toQuery,
  type BackendChoice,
  type DataChoice,
  type Settings,
} from './settings';

/** Which notebook explains each technique (notebooks/NN-name.ts, copied next to the page). */
const NOTEBOOK: Record<string, string> = {
  weighting: '01-weighting',
  embedding: '02-embedding',
  dropout: '03-dropout',
  target: '04-target',
  distance: '05-distance',
  curriculum: '06-curriculum',
  'noise-sampler': '07-noise-sampler',
  preset: '08-ct-vs-ict',
};

/** One line per technique for a student who has never trained a model. */
const EXPLAIN: Record<string, string> = {
  weighting: 'How much each noise level counts in the loss: equal (CT) or more for close pairs of levels (iCT).',
  embedding: 'How the network sees the noise level σ: random Fourier features at scale 16 (CT) or 0.02 (iCT), or a positional code.',
  dropout: 'Randomly silencing units while training; iCT found more dropout helps on images.',
  target:
    'What the student is pulled towards (θ⁻, the consistency target): an EMA of its own weights (CT) or its own weights without gradient (iCT: stopgrad).',
  distance: 'How far apart two outputs are: squared ℓ2 (CT) or pseudo-Huber, which is gentler on outliers (iCT).',
  curriculum: 'How many noise levels N(k) the grid has at step k: a square-root schedule (CT) or doubling stages (iCT).',
  'noise-sampler': 'Which pair of neighbouring levels a step trains on: uniformly (CT) or by a lognormal around small σ (iCT).',
};

const SAMPLE_N = 1000;
const SAMPLE_SEED = 777;
const PATH_SIGMAS = [80, 2.5, 0.8, 0.25];
const EVAL_EVERY_MS = 1000;
const DRAW_EVERY_MS = 100;

interface PanelView {
  root: HTMLElement;
  stats: Record<string, HTMLElement>;
  samples: HTMLCanvasElement;
  grid: HTMLCanvasElement;
  curriculum: HTMLCanvasElement;
}

interface PanelRun {
  cfg: TrainConfig;
  session: TrainingSession;
  curriculum: Float64Array;
  steps: number;
  windowStart: number;
  windowSteps: number;
  stepsPerSec: number;
  swd1: number;
  swd2: number;
  untrainedSwd1: number;
  one: Float32Array;
  two: Float32Array;
  path: [number, number][];
  lastEval: number;
  /** What the last evaluation cost: evaluations are spaced so they take at most ~1/5 of the time. */
  evalMs: number;
  /** N of the noise grid drawn last. */
  gridN: number;
  error: string | null;
}

interface DemoState {
  settings: Settings;
  backend: BackendReport | null;
  running: boolean;
  panels: PanelRun[];
  data: { train: Float32Array; test: Float32Array } | null;
  errors: string[];
  /** Where the training loop's wall time went since the last reset (ms): steps, readouts, drawing, the page's turns. */
  loopMs: LoopTimes;
}

interface LoopTimes {
  steps: number;
  readouts: number;
  drawing: number;
  yielded: number;
}

declare global {
  interface Window {
    ctlabDemo: {
      state: DemoState;
      status(): {
        step: number;
        totalSteps: number;
        done: boolean;
        swd1: number;
        swd2: number;
        untrainedSwd1: number;
        stepsPerSec: number;
        loss: number;
        n: number;
        mu: number;
        error: string | null;
      }[];
      ready: boolean;
    };
  }
}

const state: DemoState = {
  settings: defaultSettings(),
  backend: null,
  running: false,
  panels: [],
  data: null,
  errors: [],
  loopMs: { steps: 0, readouts: 0, drawing: 0, yielded: 0 },
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: missing #${id}`);
  return e as T;
}

function showError(msg: string): void {
  state.errors.push(msg);
  const box = byId('errors');
  box.textContent = state.errors.slice(-3).join('\n');
  box.hidden = false;
}

// ---------------------------------------------------------------- data

function pointsData(s: Settings): { train: Float32Array; test: Float32Array } {
  const base = panelConfig(s, 0);
  const trainSize = base.data.kind === 'toy2d' ? base.data.trainSize : 20000;
  const testSize = base.data.kind === 'toy2d' ? base.data.testSize : 2000;
  if (isToy2dName(s.data)) return { train: toy2d(s.data, trainSize, s.seed), test: toy2d(s.data, testSize, TOY2D_TEST_SEED) };
  // drawn: every drawn point blurred by a small Gaussian, so the set has density, not 30 atoms
  const jitter = (n: number, seed: number): Float32Array => {
    const rng = new Rng(seed, 0xd7a3);
    const out = new Float32Array(2 * n);
    const m = s.points.length / 2;
    for (let i = 0; i < n; i++) {
      const j = Math.min(m - 1, Math.floor(rng.uniform() * m));
      out[2 * i] = (s.points[2 * j] as number) + 0.05 * rng.normal();
      out[2 * i + 1] = (s.points[2 * j + 1] as number) + 0.05 * rng.normal();
    }
    return out;
  };
  return { train: jitter(trainSize, s.seed), test: jitter(testSize, TOY2D_TEST_SEED) };
}

// ---------------------------------------------------------------- controls

function select(id: string, options: readonly string[], value: string, onChange: (v: string) => void): HTMLSelectElement {
  const s = el('select', { id, name: id });
  for (const o of options) s.append(el('option', { value: o }, o));
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

function numberInput(id: string, value: number, step: string, onChange: (v: number) => void): HTMLInputElement {
  const i = el('input', { id, name: id, type: 'number', step, value: String(value) });
  i.addEventListener('change', () => onChange(Number(i.value)));
  return i;
}

function labelled(label: string, control: HTMLElement, help?: string, notebook?: string): HTMLElement {
  const row = el('div', { class: 'row' });
  const l = el('label', { for: control.id }, label);
  row.append(l, control);
  if (help) {
    const h = el('div', { class: 'help' }, help + ' ');
    if (notebook) h.append(el('a', { href: `notebooks/${notebook}.ts`, target: '_blank' }, `notebook ${notebook}`));
    row.append(h);
  }
  return row;
}

function settingsChanged(reset = true): void {
  try {
    // every change goes through the kit's schema: a bad value is refused with the field named
    panelConfig(state.settings, 0);
    panelConfig(state.settings, 1);
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  history.replaceState(null, '', `?${toQuery(state.settings)}`);
  byId<HTMLInputElement>('share').value = location.href;
  if (reset) void resetRuns();
}

function buildControls(): void {
  const s = state.settings;
  const box = byId('controls');
  box.replaceChildren();
  box.append(el('h2', {}, 'Data and budget'));
  box.append(
    labelled(
      'data',
      select('data', DATA_CHOICES, s.data, (v) => {
        s.data = v as DataChoice;
        byId('draw-box').hidden = s.data !== DRAWN;
        if (s.data === DRAWN && s.points.length < 16) return; // wait for points
        settingsChanged();
      }),
      'A 2D toy set, or draw your own points.',
    ),
  );
  const drawBox = el('div', { id: 'draw-box' });
  drawBox.hidden = s.data !== DRAWN;
  const pad = el('canvas', { id: 'draw', width: '220', height: '220', class: 'pad' });
  const clear = el('button', { id: 'draw-clear', type: 'button' }, 'clear points');
  const useBtn = el('button', { id: 'draw-use', type: 'button' }, 'train on these points');
  const count = el('span', { id: 'draw-count' }, `${s.points.length / 2} points`);
  drawBox.append(el('div', { class: 'help' }, 'Click or drag to add points (at least 8).'), pad, el('br'), clear, useBtn, count);
  let down = false;
  const add = (ev: MouseEvent): void => {
    const r = pad.getBoundingClientRect();
    const [x, y] = fromCanvas(pad, ((ev.clientX - r.left) / r.width) * pad.width, ((ev.clientY - r.top) / r.height) * pad.height);
    s.points.push(quantize(x), quantize(y));
    count.textContent = `${s.points.length / 2} points`;
    scatter(pad, [{ points: s.points, color: COLORS.one, size: 4, alpha: 1 }]);
  };
  pad.addEventListener('mousedown', (ev) => {
    down = true;
    add(ev);
  });
  pad.addEventListener('mousemove', (ev) => {
    if (down) add(ev);
  });
  window.addEventListener('mouseup', () => (down = false));
  clear.addEventListener('click', () => {
    s.points = [];
    count.textContent = '0 points';
    scatter(pad, []);
  });
  useBtn.addEventListener('click', () => {
    if (s.points.length < 16) return showError(`points: draw at least 8 points (have ${s.points.length / 2})`);
    settingsChanged();
  });
  box.append(drawBox);
  scatter(pad, [{ points: s.points, color: COLORS.one, size: 4, alpha: 1 }]);

  box.append(
    labelled(
      'steps K',
      numberInput('steps', s.steps, '100', (v) => ((s.steps = v), settingsChanged())),
      'Total training steps; the curriculum N(k) is spread over them.',
    ),
  );
  box.append(
    labelled(
      'batch',
      numberInput('batch', s.batch, '32', (v) => ((s.batch = v), settingsChanged())),
    ),
  );
  box.append(
    labelled(
      'learning rate',
      numberInput('lr', s.lr, '0.0001', (v) => ((s.lr = v), settingsChanged())),
    ),
  );
  box.append(
    labelled(
      'seed',
      numberInput('seed', s.seed, '1', (v) => ((s.seed = v), settingsChanged())),
    ),
  );
  box.append(
    labelled(
      'backend',
      select('backend', BACKENDS, s.backend, (v) => {
        s.backend = v as BackendChoice;
        settingsChanged(false);
        void restartBackend();
      }),
      'auto: wasm, or webgpu/webgl when they train faster here. Switching resets training.',
    ),
  );
  const cmp = el('input', { id: 'compare', name: 'compare', type: 'checkbox' });
  cmp.checked = s.compare;
  cmp.addEventListener('change', () => {
    s.compare = cmp.checked;
    settingsChanged();
  });
  box.append(labelled('compare two', cmp, 'Train configuration B beside A, from the same data and seed.'));

  s.panels.forEach((p, i) => {
    const key = i === 0 ? 'a' : 'b';
    const fs = el('fieldset', { id: `controls-${key}` });
    fs.append(el('legend', {}, `Configuration ${key.toUpperCase()}`));
    fs.append(
      labelled(
        'preset',
        select(`${key}-preset`, PRESET_NAMES, p.preset, (v) => {
          p.preset = v as (typeof PRESET_NAMES)[number];
          p.choices = presetChoices(p.preset);
          buildControls();
          settingsChanged();
        }),
        'ct: the original consistency training (CM, 2023); ict: improved CT (iCT, 2023). Each sets every technique below.',
        NOTEBOOK.preset,
      ),
    );
    for (const t of TECHNIQUES) {
      fs.append(
        labelled(
          t.name,
          select(
            `${key}-${t.name}`,
            t.choices.map((c) => c.name),
            p.choices[t.name] ?? '',
            (v) => {
              p.choices[t.name] = v;
              settingsChanged();
            },
          ),
          EXPLAIN[t.name],
          NOTEBOOK[t.name],
        ),
      );
    }
    if (i === 1) fs.hidden = !s.compare;
    box.append(fs);
  });
}

// ---------------------------------------------------------------- panels

function buildPanel(key: 'a' | 'b'): PanelView {
  const root = el('section', { id: `panel-${key}`, class: 'panel' });
  const title = el('h2', { id: `${key}-title` });
  const statsBox = el('div', { class: 'stats' });
  const stats: Record<string, HTMLElement> = {};
  for (const [name, label] of [
    ['step', 'step k'],
    ['sps', 'steps/s'],
    ['loss', 'loss'],
    ['n', 'N(k)'],
    ['mu', 'μ(k)'],
    ['swd1', '1-step SWD'],
    ['swd2', '2-step SWD'],
  ] as const) {
    const v = el('span', { id: `${key}-${name}`, class: 'value' }, '–');
    statsBox.append(el('span', { class: 'stat' }, `${label} `), v);
    stats[name] = v;
  }
  const samples = el('canvas', { id: `${key}-samples`, width: '360', height: '360' });
  const grid = el('canvas', { id: `${key}-grid`, width: '360', height: '110' });
  const curriculum = el('canvas', { id: `${key}-curriculum`, width: '360', height: '90' });
  root.append(
    title,
    statsBox,
    el(
      'div',
      { class: 'caption' },
      `grey: held-out data · blue: 1-step samples · orange: 2-step samples (σ = 80, ${TWO_STEP_SIGMA}) · red: one point through ${PATH_SIGMAS.length} steps (σ = ${PATH_SIGMAS.join(', ')})`,
    ),
    samples,
    el('div', { class: 'caption' }, 'noise grid at step k: bar = probability of training on the pair (σ_i, σ_i+1)'),
    grid,
    el('div', { class: 'caption' }, 'curriculum N(k) over the run; dot = now'),
    curriculum,
  );
  return { root, stats, samples, grid, curriculum };
}

let views: PanelView[] = [];

function drawPanel(i: number): void {
  const run = state.panels[i];
  const v = views[i];
  if (!run || !v || !state.data) return;
  const st = run.session.status();
  byId(`${i === 0 ? 'a' : 'b'}-title`).textContent =
    `${i === 0 ? 'A' : 'B'}: ${run.cfg.name} on ${state.settings.data === DRAWN ? 'drawn points' : describeToy2d(state.settings.data)}`;
  const set = (name: string, text: string, value: number): void => {
    const e = v.stats[name];
    if (!e) return;
    e.textContent = text;
    e.dataset.value = String(value);
  };
  set('step', `${st.step} / ${st.totalSteps}`, st.step);
  set('sps', run.stepsPerSec.toFixed(0), run.stepsPerSec);
  set('loss', Number.isFinite(st.loss) ? st.loss.toPrecision(3) : '–', st.loss);
  set('n', String(st.n), st.n);
  set('mu', st.mu.toFixed(4), st.mu);
  set('swd1', run.swd1.toFixed(4), run.swd1);
  set('swd2', run.swd2.toFixed(4), run.swd2);
  scatter(
    v.samples,
    [
      { points: state.data.test, color: COLORS.data, size: 2, alpha: 0.7 },
      { points: run.one, color: COLORS.one, size: 2.5 },
      { points: run.two, color: COLORS.two, size: 2.5 },
    ],
    run.path,
  );
  if (run.gridN !== st.n) {
    // the grid changes only at curriculum stages
    const sigmas = karrasSigmas(st.n, run.cfg.noise);
    const ns = run.cfg.noiseSampler;
    noiseGrid(v.grid, sigmas, ns.kind === 'uniform' ? uniformNoiseProbs(sigmas) : lognormalNoiseProbs(sigmas, ns));
    run.gridN = st.n;
  }
  curve(v.curriculum, run.curriculum, st.step, 'N(k)');
}

function evaluatePanel(run: PanelRun): void {
  const t0 = performance.now();
  const s = run.session;
  run.one = s.sample([80], SAMPLE_N, SAMPLE_SEED);
  run.two = s.sample([80, TWO_STEP_SIGMA], SAMPLE_N, SAMPLE_SEED);
  run.swd1 = s.swd(run.one);
  run.swd2 = s.swd(run.two);
  run.path = PATH_SIGMAS.map((_, j) => {
    const x = s.sample(PATH_SIGMAS.slice(0, j + 1), 1, 5);
    return [x[0] as number, x[1] as number] as [number, number];
  });
  const now = performance.now();
  run.evalMs = now - t0;
  run.lastEval = now;
}

async function resetRuns(): Promise<void> {
  state.running = false;
  await idle;
  for (const r of state.panels) r.session.dispose();
  state.panels = [];
  state.loopMs = { steps: 0, readouts: 0, drawing: 0, yielded: 0 };
  const s = state.settings;
  try {
    state.data = pointsData(s);
    const count = s.compare ? 2 : 1;
    for (let i = 0; i < count; i++) {
      const cfg = panelConfig(s, i as 0 | 1);
      const session = new TrainingSession(cfg, { ...state.data, shape: [2] });
      const curriculum = new Float64Array(cfg.steps);
      for (let k = 0; k < cfg.steps; k++) curriculum[k] = gridSize(cfg, k);
      const run: PanelRun = {
        cfg,
        session,
        curriculum,
        steps: 0,
        windowStart: performance.now(),
        windowSteps: 0,
        stepsPerSec: 0,
        swd1: NaN,
        swd2: NaN,
        untrainedSwd1: NaN,
        one: new Float32Array(0),
        two: new Float32Array(0),
        path: [],
        lastEval: 0,
        evalMs: 0,
        gridN: -1,
        error: null,
      };
      evaluatePanel(run);
      run.untrainedSwd1 = run.swd1;
      state.panels.push(run);
    }
  } catch (e) {
    showError((e as Error).message);
  }
  views.forEach((v, i) => (v.root.hidden = i >= state.panels.length));
  byId<HTMLButtonElement>('train').textContent = 'train';
  state.panels.forEach((_, i) => drawPanel(i));
}

// ---------------------------------------------------------------- the loop

let idle: Promise<void> = Promise.resolve();

/**
 * Give the page a turn (input, layout, painting) and come back at once. A message on a channel is a
 * fresh task without setTimeout(0)'s clamp (≥ 4 ms once timeouts nest), which cost ~10% of the
 * loop's time at 40 ms slices.
 */
const turnChannel = new MessageChannel();
let turnWaiting: (() => void) | null = null;
turnChannel.port1.onmessage = () => {
  const r = turnWaiting;
  turnWaiting = null;
  r?.();
};
function pageTurn(): Promise<void> {
  return new Promise((resolve) => {
    turnWaiting = resolve;
    turnChannel.port2.postMessage(0);
  });
}

async function loop(): Promise<void> {
  const budgetMs = 40; // per slice, then the page gets a turn (input, drawing)
  const t = state.loopMs;
  let lastDraw = 0;
  while (state.running) {
    const active = state.panels.filter((r) => !r.session.status().done && !r.error);
    if (active.length === 0) break;
    for (const run of active) {
      const t0 = performance.now();
      try {
        const done = await run.session.run(Infinity, budgetMs / active.length, () => performance.now());
        run.windowSteps += done;
      } catch (e) {
        run.error = (e as Error).message;
        showError(run.error);
      }
      const now = performance.now();
      t.steps += now - t0;
      if (now - run.windowStart > 1000) {
        run.stepsPerSec = run.windowSteps / ((now - run.windowStart) / 1000);
        run.windowStart = now;
        run.windowSteps = 0;
      }
      if (now - run.lastEval > Math.max(EVAL_EVERY_MS, 5 * run.evalMs) || run.session.status().done) {
        evaluatePanel(run);
        t.readouts += run.evalMs;
      }
    }
    const d0 = performance.now();
    if (d0 - lastDraw > DRAW_EVERY_MS) {
      state.panels.forEach((_, i) => drawPanel(i));
      lastDraw = performance.now();
      t.drawing += lastDraw - d0;
    }
    const y0 = performance.now();
    await pageTurn();
    t.yielded += performance.now() - y0;
  }
  state.running = false;
  for (const run of state.panels) evaluatePanel(run);
  state.panels.forEach((_, i) => drawPanel(i));
  byId<HTMLButtonElement>('train').textContent = state.panels.every((r) => r.session.status().done) ? 'done' : 'train';
}

function toggleTraining(): void {
  if (state.running) {
    state.running = false;
    byId<HTMLButtonElement>('train').textContent = 'train';
    return;
  }
  if (state.panels.length === 0 || state.panels.every((r) => r.session.status().done)) return;
  state.running = true;
  byId<HTMLButtonElement>('train').textContent = 'pause';
  for (const r of state.panels) {
    r.windowStart = performance.now();
    r.windowSteps = 0;
  }
  idle = loop();
}

async function restartBackend(): Promise<void> {
  state.running = false;
  await idle;
  const note = byId('backend-note');
  note.textContent = `starting ${state.settings.backend} …`;
  const probeCfg = panelConfig(state.settings, 0);
  const probeData = pointsData(state.settings);
  const probe = async (): Promise<number> => {
    const s = new TrainingSession({ ...probeCfg, steps: 1000 }, { ...probeData, shape: [2] });
    try {
      await s.run(3); // warm-up (kernel compilation)
      const t0 = performance.now();
      const n = await s.run(1000, 600, () => performance.now());
      return n / ((performance.now() - t0) / 1000);
    } finally {
      s.dispose();
    }
  };
  try {
    for (const r of state.panels) r.session.dispose();
    state.panels = [];
    state.backend = await startBackend(state.settings.backend, probe);
    note.textContent = `backend: ${state.backend.name} — ${state.backend.notes.join('; ')}`;
    note.dataset.backend = state.backend.name;
  } catch (e) {
    note.textContent = `no backend: ${(e as Error).message}`;
    showError(note.textContent);
    return;
  }
  await resetRuns();
}

async function main(): Promise<void> {
  try {
    state.settings = fromQuery(location.search);
  } catch (e) {
    showError(`${(e as Error).message} (in the URL; using the defaults)`);
    state.settings = defaultSettings();
  }
  views = [buildPanel('a'), buildPanel('b')];
  byId('panels').append(...views.map((v) => v.root));
  buildControls();
  byId<HTMLButtonElement>('train').addEventListener('click', toggleTraining);
  byId<HTMLButtonElement>('reset').addEventListener('click', () => void resetRuns());
  byId<HTMLButtonElement>('copy').addEventListener('click', () => {
    const share = byId<HTMLInputElement>('share');
    share.select();
    void navigator.clipboard?.writeText(share.value).catch(() => undefined);
  });
  history.replaceState(null, '', `?${toQuery(state.settings)}`);
  byId<HTMLInputElement>('share').value = location.href;
  await restartBackend();
  window.ctlabDemo.ready = true;
}

window.ctlabDemo = {
  state,
  ready: false,
  status: () =>
    state.panels.map((r) => {
      const st = r.session.status();
      return {
        step: st.step,
        totalSteps: st.totalSteps,
        done: st.done,
        loss: st.loss,
        n: st.n,
        mu: st.mu,
        swd1: r.swd1,
        swd2: r.swd2,
        untrainedSwd1: r.untrainedSwd1,
        stepsPerSec: r.stepsPerSec,
        error: r.error,
      };
    }),
};
void main();
