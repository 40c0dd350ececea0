/**
 * Readers for the non-Bicep half of an azd project, for test/unit/infra: azure.yaml (the YAML
 * subset azd projects use: nested `key: value` maps by indentation, comments, no lists or flow
 * syntax), `.funcignore` (gitignore-style patterns), and npm `engines` ranges.
 */
import { readFileSync } from 'node:fs';

export type YamlMap = { [key: string]: string | YamlMap };

/** Parses nested `key: value` / `key:` lines; anything else is an error naming the line. */
export function parseSimpleYaml(text: string, file = 'azure.yaml'): YamlMap {
  const root: YamlMap = {};
  const stack: { indent: number; map: YamlMap }[] = [{ indent: -1, map: root }];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '').trimEnd();
    if (line.trim() === '') return;
    const indent = line.length - line.trimStart().length;
    const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.trim());
    if (!m) throw new Error(`${file}:${i + 1}: not a 'key: value' line`);
    while ((stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const parent = (stack[stack.length - 1] as { map: YamlMap }).map;
    const key = m[1] as string;
    if (m[2] === undefined || m[2] === '') {
      const child: YamlMap = {};
      parent[key] = child;
      stack.push({ indent, map: child });
    } else parent[key] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  });
  return root;
}

export function readSimpleYaml(file: string): YamlMap {
  return parseSimpleYaml(readFileSync(file, 'utf8'), file);
}

/** The patterns of a .funcignore / .gitignore file. */
export function readIgnorePatterns(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Whether a gitignore-style pattern list leaves out `relativePath` (no negations, `*` within one segment). */
export function isIgnored(patterns: readonly string[], relativePath: string): boolean {
  const segments = relativePath.split('/');
  return patterns.some((pattern) => {
    const anchored = pattern.startsWith('/') || pattern.replace(/\/$/, '').includes('/');
    const body = pattern.replace(/^\//, '').replace(/\/$/, '');
    const re = new RegExp(`^${body.split('*').map(escapeRegExp).join('[^/]*')}$`);
    if (anchored) {
      const depth = body.split('/').length;
      return re.test(segments.slice(0, depth).join('/'));
    }
    return segments.some((s) => re.test(s));
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether an npm `engines` range admits `version` (x.y.z): `||` alternatives of space-separated
 * comparators (`>=`, `>`, `<=`, `<`, `=`), caret and tilde ranges, and `x` wildcards.
 */
export function rangeAdmits(range: string, version: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .filter((c) => c !== '')
      .every((comparator) => comparatorAdmits(comparator, v)),
  );
}

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const parts = text.replace(/^v/, '').split('.');
  const n = (i: number): number => (parts[i] === undefined || /^[x*]$/i.test(parts[i] as string) ? 0 : Number(parts[i]));
  return [n(0), n(1), n(2)];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

function comparatorAdmits(comparator: string, v: Version): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?(.+)$/.exec(comparator);
  if (!m) throw new Error(`not an engines comparator: ${comparator}`);
  const [, op = '', text = ''] = m;
  const bound = parseVersion(text);
  const given = text.replace(/^v/, '').split('.').filter((p) => !/^[x*]$/i.test(p)).length;
  switch (op) {
    case '>=':
      return compare(v, bound) >= 0;
    case '>':
      return compare(v, bound) > 0;
    case '<=':
      return compare(v, bound) <= 0;
    case '<':
      return compare(v, bound) < 0;
    case '^':
      return compare(v, bound) >= 0 && v[0] === bound[0];
    case '~':
      return compare(v, bound) >= 0 && v[0] === bound[0] && (given < 2 || v[1] === bound[1]);
    default:
      // `20`, `20.x`, `=20.1.0`: the parts given must match.
      return v.slice(0, given).every((p, i) => p === bound[i]);
  }
}
