/**
 * Overrides merged onto a baseline: plain objects merge key by key; arrays and scalars replace.
 * The config's discriminated unions (model, its embedding, data, target, curriculum, noise
 * sampler) are replaced whole when the override switches `kind`, so switching the embedding from
 * fourier to positional drops `scale`; objects whose kinds share their fields (optimizer,
 * distance) merge key by key even across kinds.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Paths of the config's discriminated unions (variants with different fields). */
export const UNION_PATHS: readonly string[] = ['model', 'model.embedding', 'data', 'target', 'method', 'curriculum', 'noiseSampler'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep partial of T: what an override may give (a misspelled field fails to compile). */
export type DeepPartial<T> = T extends readonly (infer E)[] ? readonly E[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A typed override merged onto a baseline (validate the result: an override can switch a union's kind half-way). */
export function mergeConfig<T extends object>(base: T, override: DeepPartial<T>): T {
  return mergeValue(base, override, '') as T;
}

/**
 * An override read from a file or another untyped source merged onto a baseline: the result is
 * `unknown` until `validateConfig` has checked it.
 */
export function mergeUntyped(base: object, override: unknown): unknown {
  return mergeValue(base, override, '');
}

function mergeValue(base: unknown, override: unknown, at: string): unknown {
  if (override === undefined) return structuredClone(base);
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  if (UNION_PATHS.includes(at) && 'kind' in override && override.kind !== base.kind) return structuredClone(override);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = key in base ? mergeValue(base[key], value, at ? `${at}.${key}` : key) : structuredClone(value);
  }
  return out;
}

export type { Json };
