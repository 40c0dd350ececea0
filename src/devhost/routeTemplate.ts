/**
 * HTTP trigger route templates as the Functions host (ASP.NET Core routing) reads them: literal
 * segments (case-insensitive), `{param}`, optional `{param?}`, defaults `{param=value}`,
 * catch-all `{*rest}`, inline constraints `{id:int}`, `{name:alpha:maxlength(8)}`,
 * `{code:regex(^[a-z]{{2}}$)}` (braces doubled, as ASP.NET wants), and complex segments like
 * `{name}.{ext?}`. Among several matching routes the most specific wins (literal before
 * constrained parameter before parameter before catch-all, segment by segment). Pure.
 */

export type RouteConstraint = (value: string) => boolean;

interface LiteralPart {
  kind: 'literal';
  text: string;
}

interface ParameterPart {
  kind: 'parameter';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: { text: string; test: RouteConstraint }[];
}

type Part = LiteralPart | ParameterPart;

export interface RouteTemplate {
  readonly template: string;
  readonly parameterNames: readonly string[];
  /** One digit per segment, lower is more specific (see compareRoutePrecedence). */
  readonly precedence: readonly number[];
  readonly regex: RegExp;
  readonly parameters: readonly ParameterPart[];
}

export class RouteTemplateError extends Error {
  constructor(template: string, problem: string) {
    super(`invalid route template "${template}": ${problem}`);
    this.name = 'RouteTemplateError';
  }
}

const INT32 = { min: -2147483648, max: 2147483647 };

function numberArgs(args: string | undefined, count: number, name: string, template: string): number[] {
  const values = (args ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (values.length !== count || values.some((n) => !Number.isFinite(n))) {
    throw new RouteTemplateError(template, `constraint "${name}" expects ${count} number argument(s)`);
  }
  return values;
}

/** Builds one inline constraint (`int`, `min(1)`, `regex(...)`, …). */
export function buildConstraint(text: string, template: string): RouteConstraint {
  const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(text);
  if (!m) throw new RouteTemplateError(template, `constraint "${text}" is malformed`);
  const name = (m[1] as string).toLowerCase();
  const args = m[2];
  const isInteger = (v: string): boolean => /^-?\d+$/.test(v);
  switch (name) {
    case 'int':
      return (v) => isInteger(v) && Number(v) >= INT32.min && Number(v) <= INT32.max;
    case 'long':
      return (v) => isInteger(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n;
    case 'float':
    case 'double':
    case 'decimal':
      return (v) => v.trim() !== '' && Number.isFinite(Number(v));
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'required':
      return (v) => v !== '';
    case 'minlength': {
      const [n] = numberArgs(args, 1, name, template) as [number];
      return (v) => v.length >= n;
    }
    case 'maxlength': {
      const [n] = numberArgs(args, 1, name, template) as [number];
      return (v) => v.length <= n;
    }
    case 'length': {
      const parts = (args ?? '').split(',').length;
      const values = numberArgs(args, parts === 2 ? 2 : 1, name, template);
      const [min, max] = values.length === 2 ? (values as [number, number]) : [values[0] as number, values[0] as number];
      return (v) => v.length >= min && v.length <= max;
    }
    case 'min': {
      const [n] = numberArgs(args, 1, name, template) as [number];
      return (v) => isInteger(v) && Number(v) >= n;
    }
    case 'max': {
      const [n] = numberArgs(args, 1, name, template) as [number];
      return (v) => isInteger(v) && Number(v) <= n;
    }
    case 'range': {
      const [min, max] = numberArgs(args, 2, name, template) as [number, number];
      return (v) => isInteger(v) && Number(v) >= min && Number(v) <= max;
    }
    case 'regex': {
      if (args === undefined || args === '') throw new RouteTemplateError(template, 'constraint "regex" needs a pattern');
      let re: RegExp;
      try {
        re = new RegExp(args, 'i');
      } catch (e) {
        throw new RouteTemplateError(template, `constraint "regex(${args})": ${(e as Error).message}`);
      }
      return (v) => re.test(v);
    }
    default:
      throw new RouteTemplateError(template, `unknown constraint "${name}"`);
  }
}

/** Splits on `sep` outside parentheses. */
function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parseParameter(inner: string, template: string): ParameterPart {
  let body = inner.trim();
  let catchAll = false;
  if (body.startsWith('**')) {
    catchAll = true;
    body = body.slice(2);
  } else if (body.startsWith('*')) {
    catchAll = true;
    body = body.slice(1);
  }
  let optional = false;
  let defaultValue: string | undefined;
  // `name[:constraint[(args)]]…` then an optional `?` or `=default` after the last piece.
  const pieces = splitTopLevel(body, ':');
  let last = pieces[pieces.length - 1] as string;
  if (last.endsWith('?')) {
    optional = true;
    last = last.slice(0, -1);
  }
  let depth = 0;
  for (let i = 0; i < last.length; i++) {
    const c = last[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === '=' && depth === 0) {
      defaultValue = last.slice(i + 1);
      last = last.slice(0, i);
      break;
    }
  }
  pieces[pieces.length - 1] = last;
  const [nameOnly = '', ...constraintTexts] = pieces.map((piece) => piece.trim());
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(nameOnly)) throw new RouteTemplateError(template, `parameter name "${nameOnly}" is not valid`);
  if (catchAll && optional) throw new RouteTemplateError(template, 'a catch-all parameter cannot be marked optional');
  if (optional && defaultValue !== undefined) throw new RouteTemplateError(template, `parameter "${nameOnly}" cannot be both optional and have a default`);
  return {
    kind: 'parameter',
    name: nameOnly,
    optional,
    catchAll,
    defaultValue,
    constraints: constraintTexts.filter((t) => t !== '').map((text) => ({ text, test: buildConstraint(text, template) })),
  };
}

function parseSegment(segment: string, template: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < segment.length) {
    const c = segment[i];
    if (c === '{' && segment[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (c === '}' && segment[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (c === '{') {
      let inner = '';
      let j = i + 1;
      let closed = false;
      while (j < segment.length) {
        const d = segment[j];
        if ((d === '{' || d === '}') && segment[j + 1] === d) {
          inner += d;
          j += 2;
        } else if (d === '}') {
          closed = true;
          j += 1;
          break;
        } else if (d === '{') {
          throw new RouteTemplateError(template, 'a parameter cannot contain an unescaped "{"');
        } else {
          inner += d;
          j += 1;
        }
      }
      if (!closed) throw new RouteTemplateError(template, 'a parameter is missing its closing "}"');
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      const parameter = parseParameter(inner, template);
      const previous = parts[parts.length - 1];
      if (previous?.kind === 'parameter') throw new RouteTemplateError(template, 'two parameters must be separated by a literal');
      parts.push(parameter);
      i = j;
    } else if (c === '}') {
      throw new RouteTemplateError(template, 'an unmatched "}" (write "}}" for a literal brace)');
    } else {
      literal += c;
      i += 1;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function parseRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.trim().replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  let source = '^';
  const parameters: ParameterPart[] = [];
  const precedence: number[] = [];
  let sawOptional = false;
  segments.forEach((segment, index) => {
    if (segment === '') throw new RouteTemplateError(template, 'empty segment ("//")');
    const parts = parseSegment(segment, template);
    const isLast = index === segments.length - 1;
    for (const p of parts) {
      if (p.kind !== 'parameter') continue;
      if (parameters.some((q) => q.name.toLowerCase() === p.name.toLowerCase())) {
        throw new RouteTemplateError(template, `parameter "${p.name}" appears twice`);
      }
      if (p.catchAll && (!isLast || parts.length > 1)) throw new RouteTemplateError(template, 'a catch-all parameter must be the whole last segment');
      parameters.push(p);
    }
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only?.kind === 'parameter' && only.catchAll) {
      source += '(?:/(.*))?';
      precedence.push(5);
    } else if (only?.kind === 'parameter' && (only.optional || only.defaultValue !== undefined)) {
      sawOptional = true;
      source += '(?:/([^/]+))?';
      precedence.push(only.constraints.length > 0 ? 3 : 4);
    } else {
      if (sawOptional) throw new RouteTemplateError(template, 'only the last segments may be optional');
      let segmentSource = '';
      parts.forEach((p, k) => {
        if (p.kind === 'literal') segmentSource += escapeRegExp(p.text);
        else if (p.optional) {
          if (k !== parts.length - 1) throw new RouteTemplateError(template, 'an optional parameter must end its segment');
          // `{name}.{ext?}`: the separator goes with the optional parameter.
          const prev = parts[k - 1];
          if (prev?.kind === 'literal') segmentSource = segmentSource.slice(0, -escapeRegExp(prev.text).length) + `(?:${escapeRegExp(prev.text)}([^/]+?))?`;
          else segmentSource += '([^/]+?)?';
        } else segmentSource += parts.length === 1 ? '([^/]+)' : '([^/]+?)';
      });
      source += `/${segmentSource}`;
      precedence.push(only?.kind === 'literal' ? 1 : only?.kind === 'parameter' ? (only.constraints.length > 0 ? 3 : 4) : 2);
    }
  });
  source += '/?$';
  return {
    template,
    parameterNames: parameters.map((p) => p.name),
    precedence,
    regex: new RegExp(source, 'i'),
    parameters,
  };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The route's parameter values for `pathname` (raw, percent-encoded), or undefined when it does not match. */
export function matchRoute(route: RouteTemplate, pathname: string): Record<string, string> | undefined {
  const normalized = pathname === '' ? '/' : pathname;
  const m = route.regex.exec(normalized === '/' ? '' : normalized);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.parameters.length; i++) {
    const p = route.parameters[i] as ParameterPart;
    const raw = m[i + 1];
    const value = raw === undefined || raw === '' ? p.defaultValue : decode(raw);
    if (value === undefined) {
      if (p.optional || p.catchAll) continue;
      return undefined;
    }
    if (!p.constraints.every((c) => c.test(value))) return undefined;
    params[p.name] = value;
  }
  return params;
}

/** Negative when `a` is more specific than `b` (it wins when both match). */
export function compareRoutePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const x = a.precedence[i] ?? 0;
    const y = b.precedence[i] ?? 0;
    if (x !== y) return x - y;
  }
  return a.template.localeCompare(b.template);
}
