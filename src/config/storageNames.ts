/** Names and URLs the settings validate: Azure Storage naming rules, service URLs, loopback hosts. */
import { z } from 'zod';

/**
 * Containers and queues follow one rule: 3-63 characters of lowercase letters, digits and
 * hyphens, starting and ending with a letter or digit, no two hyphens in a row.
 */
const STORAGE_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;
const NAME_RULE = '3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit';

export const containerNameSchema = z.string().regex(STORAGE_NAME, { error: `must be a container name: ${NAME_RULE}` });
export const queueNameSchema = z.string().regex(STORAGE_NAME, { error: `must be a queue name: ${NAME_RULE}` });

export function isStorageName(name: string): boolean {
  return STORAGE_NAME.test(name);
}

/** Hosts that may be spoken to over plain http (the emulator on this machine). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** An IP literal or localhost: the account name is the first path segment (`http://127.0.0.1:10000/devstoreaccount1`). */
export function isPathStyleHost(hostname: string): boolean {
  return isLoopbackHost(hostname) || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

/** `https://host[:port][/path]`, lower-case scheme and host, no default port, no trailing slash. */
export function normalizeServiceUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; problem: string };

/**
 * An absolute http(s) URL without credentials, query or fragment; https unless the host is
 * loopback. Problems never quote the value (it might carry a SAS token).
 */
export function checkServiceUrl(value: string, what: string): UrlCheck {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `must be an absolute URL (${what})` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return { ok: false, problem: `must be an https:// URL (http:// only for a loopback emulator) (${what})` };
  }
  if (url.username || url.password) return { ok: false, problem: `must not carry a user name or password (${what})` };
  if (url.search || url.hash) {
    return { ok: false, problem: `must not carry a query string or fragment: no SAS token here, deltavault authenticates itself (${what})` };
  }
  return { ok: true, url };
}
