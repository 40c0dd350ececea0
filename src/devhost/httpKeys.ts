/**
 * Function keys for HTTP triggers' `authLevel`, taken from two app settings (local.settings.json
 * `Values` or the environment), since the devhost has no key store:
 *
 * - `DEVHOST_MASTER_KEY`: the master key; it authorizes every route, and is the only key for
 *   `admin` (and `system`) routes.
 * - `DEVHOST_FUNCTION_KEYS`: comma-separated keys for `function` routes; `key` alone is a host
 *   key (any function), `FunctionName:key` is good for that function only.
 *
 * With neither set, `authLevel` is not enforced (as Core Tools does locally). With keys, a
 * request presents one as the `code` query parameter or the `x-functions-key` header;
 * `anonymous` routes stay open. Pure.
 */
import { timingSafeEqual } from 'node:crypto';
import { lookupSetting } from './settings';

export const MASTER_KEY_SETTING = 'DEVHOST_MASTER_KEY';
export const FUNCTION_KEYS_SETTING = 'DEVHOST_FUNCTION_KEYS';

export type AuthLevel = 'anonymous' | 'function' | 'admin' | 'system';

export function parseAuthLevel(value: unknown): AuthLevel | undefined {
  if (value === undefined || value === null || value === '') return 'anonymous';
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return lower === 'anonymous' || lower === 'function' || lower === 'admin' || lower === 'system' ? lower : undefined;
}

export interface HttpKeys {
  masterKey?: string;
  hostKeys: string[];
  /** By function name, lower-cased. */
  functionKeys: Map<string, string[]>;
}

export function parseHttpKeys(settings: Readonly<Record<string, string>>): HttpKeys {
  const master = lookupSetting(settings, MASTER_KEY_SETTING)?.trim();
  const keys: HttpKeys = { masterKey: master ? master : undefined, hostKeys: [], functionKeys: new Map() };
  for (const entry of (lookupSetting(settings, FUNCTION_KEYS_SETTING) ?? '').split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const colon = trimmed.indexOf(':');
    if (colon === -1) {
      keys.hostKeys.push(trimmed);
    } else {
      const fn = trimmed.slice(0, colon).trim().toLowerCase();
      const key = trimmed.slice(colon + 1).trim();
      if (!fn || !key) continue;
      keys.functionKeys.set(fn, [...(keys.functionKeys.get(fn) ?? []), key]);
    }
  }
  return keys;
}

export function keysConfigured(keys: HttpKeys): boolean {
  return keys.masterKey !== undefined || keys.hostKeys.length > 0 || keys.functionKeys.size > 0;
}

/** Every key value (for the logger to scrub). */
export function allKeys(keys: HttpKeys): string[] {
  return [...(keys.masterKey ? [keys.masterKey] : []), ...keys.hostKeys, ...[...keys.functionKeys.values()].flat()];
}

/** The key a request presents: `code` in the query, else the `x-functions-key` header. */
export function presentedKey(query: URLSearchParams, headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const fromQuery = query.get('code');
  if (fromQuery) return fromQuery;
  const header = headers['x-functions-key'];
  const value = Array.isArray(header) ? header[0] : header;
  return value ? value : undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether `key` opens a route of `authLevel` belonging to `functionName`. */
export function authorize(keys: HttpKeys, authLevel: AuthLevel, functionName: string, key: string | undefined): boolean {
  if (authLevel === 'anonymous' || !keysConfigured(keys)) return true;
  if (key === undefined) return false;
  if (keys.masterKey !== undefined && same(key, keys.masterKey)) return true;
  if (authLevel === 'admin' || authLevel === 'system') return false;
  const candidates = [...keys.hostKeys, ...(keys.functionKeys.get(functionName.toLowerCase()) ?? [])];
  return candidates.some((candidate) => same(key, candidate));
}
