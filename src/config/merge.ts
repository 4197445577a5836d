/**
 * Overrides merged onto a baseline: plain objects merge key by key; an object whose `kind` differs
 * from the baseline's replaces it whole (switching the embedding from fourier to positional drops
 * `scale`); arrays and scalars replace.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergeConfig<T>(base: T, override: unknown): T {
  return mergeValue(base, override) as T;
}

function mergeValue(base: unknown, override: unknown): unknown {
  if (override === undefined) return structuredClone(base);
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  if ('kind' in override && override.kind !== base.kind) return structuredClone(override);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = key in base ? mergeValue(base[key], value) : structuredClone(value);
  }
  return out;
}

export type { Json };
