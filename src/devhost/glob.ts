/**
 * Expands the glob a Functions app may put in package.json `main` (e.g. `dist/functions/*.js`),
 * as the Node.js worker does with globby: `*`, `?`, `[...]`, `{a,b}` and `**`; dot-files only
 * when the pattern names them. Results are relative to `cwd`, with `/`, sorted.
 */
import { readdirSync, type Dirent } from 'node:fs';
import * as path from 'node:path';

export function hasGlobMagic(pattern: string): boolean {
  return /[*?[\]{}]/.test(pattern);
}

/** Expands `{a,b}` alternatives (nested too) into plain patterns. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close === -1) return [pattern];
  const before = pattern.slice(0, open);
  const after = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    const alternative = pattern.slice((bounds[i] as number) + 1, bounds[i + 1]);
    out.push(...expandBraces(before + alternative + after));
  }
  return out;
}

/** One path segment's glob as an anchored regular expression. */
export function segmentToRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function walk(cwd: string, relative: string, segments: readonly string[], found: Set<string>): void {
  if (segments.length === 0) return;
  const [segment, ...rest] = segments as [string, ...string[]];
  const dir = path.join(cwd, relative);
  if (segment === '**') {
    // zero directories …
    walk(cwd, relative, rest, found);
    // … or one more, then `**` again
    for (const entry of entries(dir)) {
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') {
        walk(cwd, relative ? `${relative}/${entry.name}` : entry.name, segments, found);
      }
    }
    return;
  }
  const matcher = hasGlobMagic(segment) ? segmentToRegExp(segment) : undefined;
  for (const entry of entries(dir)) {
    const matches = matcher
      ? matcher.test(entry.name) && (!entry.name.startsWith('.') || segment.startsWith('.'))
      : entry.name === segment;
    if (!matches) continue;
    const next = relative ? `${relative}/${entry.name}` : entry.name;
    if (rest.length === 0) {
      if (entry.isFile() || entry.isSymbolicLink()) found.add(next);
    } else if (entry.isDirectory() || entry.isSymbolicLink()) walk(cwd, next, rest, found);
  }
}

/** Files under `cwd` that `pattern` matches. */
export function globFiles(pattern: string, cwd: string): string[] {
  const found = new Set<string>();
  for (const alternative of expandBraces(pattern.replace(/\\/g, '/'))) {
    const segments = alternative.replace(/^\.\//, '').split('/').filter((s) => s !== '' && s !== '.');
    walk(cwd, '', segments, found);
  }
  return [...found].sort();
}
