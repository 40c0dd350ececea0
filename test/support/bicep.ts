/**
 * A small reader for the Bicep in infra/, for tests that cross-check the templates against the
 * code without a Bicep compiler. It understands the subset infra/ is written in: `targetScope`,
 * decorated `param`s, `var`s, `resource`s (with `existing`, `if (…)`, `[for … in …: …]` and
 * nested child resources), `module`s and `output`s; values are objects, arrays, strings (with
 * `${…}` interpolation and `'''` multi-line strings), for-expressions and, for anything else, the
 * expression's text. Comments directly above a declaration, an object entry or an array item are
 * kept with it, so a test can require a justification next to a role assignment.
 *
 * `evaluate` computes what can be known before deployment: literals, interpolation, references
 * to params (bound by a module call, else their default), vars, loop variables, property access,
 * and the functions concat, join and loadJsonContent. Anything else is `Unknown` (carrying the
 * text it could not evaluate), never a guess.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

// ---------------------------------------------------------------- syntax

export type BicepValue = BicepObject | BicepArray | BicepString | BicepFor | BicepExpr;

export interface BicepObject {
  kind: 'object';
  entries: BicepEntry[];
}
export interface BicepEntry {
  key: string;
  value: BicepValue;
  comments: string[];
}
export interface BicepArray {
  kind: 'array';
  items: { value: BicepValue; comments: string[] }[];
}
/** A string literal: literal text and `${…}` interpolations, in order. */
export interface BicepString {
  kind: 'string';
  segments: (string | { expr: BicepExpr })[];
}
/** `[for item in source: body]` or `[for (item, index) in source: body]`. */
export interface BicepFor {
  kind: 'for';
  item: string;
  index?: string;
  source: BicepValue;
  body: BicepValue;
}
/** Any other expression, as written (trimmed). */
export interface BicepExpr {
  kind: 'expr';
  text: string;
}

interface Declared {
  name: string;
  comments: string[];
  decorators: string[];
}
export interface BicepParam extends Declared {
  type: string;
  defaultValue?: BicepValue;
}
export interface BicepVar extends Declared {
  value: BicepValue;
}
export interface BicepOutput extends Declared {
  type: string;
  value: BicepValue;
}
export interface BicepResource extends Declared {
  /** The full resource type (a nested child's type is its parent's type + `/` + its own). */
  type: string;
  apiVersion: string;
  existing: boolean;
  condition?: string;
  loop?: Omit<BicepFor, 'kind' | 'body'>;
  body: BicepObject;
  parent?: BicepResource;
}
export interface BicepModule extends Declared {
  /** As written, relative to the file. */
  path: string;
  condition?: string;
  loop?: Omit<BicepFor, 'kind' | 'body'>;
  body: BicepObject;
}

export interface BicepFile {
  file: string;
  text: string;
  targetScope: string;
  params: Map<string, BicepParam>;
  vars: Map<string, BicepVar>;
  resources: BicepResource[];
  modules: BicepModule[];
  outputs: Map<string, BicepOutput>;
}

export class BicepSyntaxError extends Error {
  constructor(file: string, text: string, at: number, what: string) {
    const line = text.slice(0, at).split('\n').length;
    super(`${file}:${line}: ${what}`);
  }
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

class Reader {
  pos = 0;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  fail(what: string): never {
    throw new BicepSyntaxError(this.file, this.text, this.pos, what);
  }

  peek(n = 0): string {
    return this.text[this.pos + n] ?? '';
  }

  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Skips spaces and tabs (and, with `newlines`, line breaks), collecting the comments passed. */
  skip(newlines: boolean): string[] {
    const comments: string[] = [];
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.pos++;
      else if (this.startsWith('//')) {
        const end = this.text.indexOf('\n', this.pos);
        comments.push(this.text.slice(this.pos + 2, end < 0 ? undefined : end).trim());
        this.pos = end < 0 ? this.text.length : end;
      } else if (this.startsWith('/*')) {
        const end = this.text.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated /* comment');
        comments.push(this.text.slice(this.pos + 2, end).trim());
        this.pos = end + 2;
      } else return comments;
    }
  }

  ident(): string {
    IDENT.lastIndex = this.pos;
    const m = IDENT.exec(this.text);
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  tryWord(word: string): boolean {
    if (!this.startsWith(word)) return false;
    const next = this.peek(word.length);
    if (/[A-Za-z0-9_]/.test(next)) return false;
    this.pos += word.length;
    return true;
  }

  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected '${s}'`);
    this.pos += s.length;
  }

  /** The text up to the end of a balanced `(…)` starting here, without the parentheses. */
  parenthesized(): string {
    const start = this.pos;
    this.expect('(');
    this.skipBalanced(')');
    return this.text.slice(start + 1, this.pos - 1).trim();
  }

  /** Skips to just after `close`, over nested brackets and strings. */
  skipBalanced(close: string): void {
    const closers: string[] = [close];
    while (closers.length > 0) {
      if (this.atEnd()) this.fail(`expected '${closers[closers.length - 1]}'`);
      const c = this.peek();
      if (c === "'") {
        this.string();
        continue;
      }
      this.pos++;
      if (c === '(') closers.push(')');
      else if (c === '[') closers.push(']');
      else if (c === '{') closers.push('}');
      else if (c === closers[closers.length - 1]) closers.pop();
    }
  }

  string(): BicepString {
    if (this.startsWith("'''")) {
      const end = this.text.indexOf("'''", this.pos + 3);
      if (end < 0) this.fail("unterminated ''' string");
      const literal = this.text.slice(this.pos + 3, end);
      this.pos = end + 3;
      return { kind: 'string', segments: [literal] };
    }
    this.expect("'");
    const segments: BicepString['segments'] = [];
    let literal = '';
    for (;;) {
      if (this.atEnd() || this.peek() === '\n') this.fail('unterminated string');
      const c = this.peek();
      if (c === "'") {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const e = this.peek(1);
        literal += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        this.pos += 2;
      } else if (this.startsWith('${')) {
        if (literal) segments.push(literal);
        literal = '';
        this.pos += 2;
        const start = this.pos;
        this.skipBalanced('}');
        segments.push({ expr: { kind: 'expr', text: this.text.slice(start, this.pos - 1).trim() } });
      } else {
        literal += c;
        this.pos++;
      }
    }
    if (literal || segments.length === 0) segments.push(literal);
    return { kind: 'string', segments };
  }

  value(): BicepValue {
    this.skip(false);
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.arrayOrFor();
    if (c === "'") {
      const start = this.pos;
      const s = this.string();
      this.skip(false);
      // A string that is only the start of an expression (`'a' == x`, `'x'[0]`): keep the text.
      if (this.atValueEnd()) return s;
      this.pos = start;
    }
    return this.expression();
  }

  private atValueEnd(): boolean {
    const c = this.peek();
    return c === '' || c === '\n' || c === ',' || c === '}' || c === ']' || c === ')' || this.startsWith('//');
  }

  /** An expression: up to a line break, comma or closing bracket outside brackets and strings. */
  expression(): BicepExpr {
    const start = this.pos;
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === "'") this.string();
      else if (c === '(' || c === '[' || c === '{') {
        this.pos++;
        this.skipBalanced(c === '(' ? ')' : c === '[' ? ']' : '}');
      } else if (this.atValueEnd()) break;
      else this.pos++;
    }
    const text = this.text.slice(start, this.pos).trim();
    if (text === '') this.fail('expected a value');
    return { kind: 'expr', text };
  }

  object(nested?: { into: BicepResource[]; parent?: BicepResource }): BicepObject {
    this.expect('{');
    const entries: BicepEntry[] = [];
    for (;;) {
      const comments = this.skip(true);
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (this.peek() === '}') {
        this.pos++;
        return { kind: 'object', entries };
      }
      if (this.peek() === '@' || this.startsWith('resource ')) {
        // A nested child resource (`resource name 'type' = {…}` inside a resource body).
        const decorators = this.decorators();
        if (!this.tryWord('resource')) this.fail('expected a nested resource after a decorator');
        if (!nested) this.fail('a nested resource outside a resource body');
        this.resource({ name: '', comments, decorators }, nested.into, nested.parent);
        continue;
      }
      const key = this.peek() === "'" ? textOf(this.string()).slice(1, -1) : this.ident();
      this.skip(false);
      this.expect(':');
      entries.push({ key, value: this.value(), comments });
    }
  }

  arrayOrFor(): BicepArray | BicepFor {
    this.expect('[');
    this.skip(true);
    if (this.tryWord('for')) {
      this.skip(false);
      let item: string;
      let index: string | undefined;
      if (this.peek() === '(') {
        const [a, b] = this.parenthesized().split(',').map((s) => s.trim());
        item = a ?? this.fail('expected a loop variable');
        index = b;
      } else item = this.ident();
      this.skip(false);
      if (!this.tryWord('in')) this.fail("expected 'in'");
      this.skip(false);
      const start = this.pos;
      // The source runs to the ':' that starts the body (outside brackets and strings).
      while (this.peek() !== ':') {
        if (this.atEnd()) this.fail("expected ':' in a for-expression");
        const c = this.peek();
        if (c === "'") this.string();
        else if (c === '(' || c === '[' || c === '{') {
          this.pos++;
          this.skipBalanced(c === '(' ? ')' : c === '[' ? ']' : '}');
        } else this.pos++;
      }
      const source = new Reader(this.file, this.text.slice(start, this.pos)).value();
      this.pos++;
      this.skip(true);
      const body = this.value();
      this.skip(true);
      this.expect(']');
      return { kind: 'for', item, ...(index ? { index } : {}), source, body };
    }
    const items: BicepArray['items'] = [];
    for (;;) {
      const comments = this.skip(true);
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (this.peek() === ']') {
        this.pos++;
        return { kind: 'array', items };
      }
      items.push({ value: this.value(), comments });
    }
  }

  decorators(): string[] {
    const out: string[] = [];
    while (this.peek() === '@') {
      const start = this.pos;
      this.pos++;
      this.ident();
      if (this.peek() === '(') this.parenthesized();
      out.push(this.text.slice(start, this.pos));
      this.skip(true);
    }
    return out;
  }

  /** After `resource`: `sym 'type@version' [existing] = [if (…)] body`. */
  resource(head: Declared, into: BicepResource[], parent?: BicepResource): void {
    this.skip(false);
    const name = this.ident();
    this.skip(false);
    const typeText = this.string().segments.join('');
    const at = typeText.lastIndexOf('@');
    const ownType = at < 0 ? typeText : typeText.slice(0, at);
    const apiVersion = at < 0 ? (parent?.apiVersion ?? '') : typeText.slice(at + 1);
    this.skip(false);
    const existing = this.tryWord('existing');
    this.skip(false);
    this.expect('=');
    this.skip(false);
    const condition = this.tryWord('if') ? (this.skip(false), this.parenthesized()) : undefined;
    this.skip(false);
    const type = parent && !ownType.includes('/') ? `${parent.type}/${ownType}` : ownType;
    const resource: BicepResource = { ...head, name, type, apiVersion, existing, body: { kind: 'object', entries: [] } };
    if (condition !== undefined) resource.condition = condition;
    if (parent) resource.parent = parent;
    into.push(resource);
    if (this.peek() === '[') {
      const loop = this.arrayOrFor();
      if (loop.kind !== 'for' || loop.body.kind !== 'object') this.fail('expected a for-expression with an object body');
      resource.loop = { item: loop.item, ...(loop.index ? { index: loop.index } : {}), source: loop.source };
      resource.body = loop.body;
    } else resource.body = this.object({ into, parent: resource });
  }
}

/** Parses one .bicep file. */
export function parseBicep(file: string, text = readFileSync(file, 'utf8')): BicepFile {
  const r = new Reader(file, text);
  const out: BicepFile = {
    file,
    text,
    targetScope: 'resourceGroup',
    params: new Map(),
    vars: new Map(),
    resources: [],
    modules: [],
    outputs: new Map(),
  };
  for (;;) {
    const comments = r.skip(true);
    if (r.atEnd()) return out;
    const decorators = r.decorators();
    const keyword = r.ident();
    r.skip(false);
    const head = (name: string): Declared => ({ name, comments, decorators });
    switch (keyword) {
      case 'targetScope': {
        r.expect('=');
        const v = r.value();
        out.targetScope = v.kind === 'string' ? v.segments.join('') : r.fail('targetScope must be a string');
        break;
      }
      case 'param': {
        const name = r.ident();
        r.skip(false);
        const type = r.ident();
        r.skip(false);
        const param: BicepParam = { ...head(name), type };
        if (r.peek() === '=') {
          r.pos++;
          param.defaultValue = r.value();
        }
        out.params.set(name, param);
        break;
      }
      case 'var': {
        const name = r.ident();
        r.skip(false);
        r.expect('=');
        out.vars.set(name, { ...head(name), value: r.value() });
        break;
      }
      case 'output': {
        const name = r.ident();
        r.skip(false);
        const type = r.ident();
        r.skip(false);
        r.expect('=');
        out.outputs.set(name, { ...head(name), type, value: r.value() });
        break;
      }
      case 'resource':
        r.resource(head(''), out.resources);
        break;
      case 'module': {
        const name = r.ident();
        r.skip(false);
        const modulePath = r.string().segments.join('');
        r.skip(false);
        r.expect('=');
        r.skip(false);
        const condition = r.tryWord('if') ? (r.skip(false), r.parenthesized()) : undefined;
        r.skip(false);
        const module: BicepModule = { ...head(name), path: modulePath, body: { kind: 'object', entries: [] } };
        if (condition !== undefined) module.condition = condition;
        const body = r.value();
        if (body.kind === 'for' && body.body.kind === 'object') {
          module.loop = { item: body.item, ...(body.index ? { index: body.index } : {}), source: body.source };
          module.body = body.body;
        } else if (body.kind === 'object') module.body = body;
        else r.fail('expected a module body');
        out.modules.push(module);
        break;
      }
      default:
        r.fail(`unexpected '${keyword}' (this reader knows targetScope, param, var, resource, module, output)`);
    }
  }
}

/** The entry `key` of an object value, if any. */
export function entry(value: BicepValue | undefined, key: string): BicepEntry | undefined {
  return value?.kind === 'object' ? value.entries.find((e) => e.key === key) : undefined;
}

/** The value at a dotted path of object keys (`properties.siteConfig.minTlsVersion`). */
export function at(value: BicepValue | undefined, dotted: string): BicepValue | undefined {
  let v = value;
  for (const key of dotted.split('.')) v = entry(v, key)?.value;
  return v;
}

/** The source text of a value (strings re-quoted), for messages and for text checks of expressions. */
export function textOf(value: BicepValue | undefined): string {
  if (!value) return '';
  switch (value.kind) {
    case 'expr':
      return value.text;
    case 'string':
      return `'${value.segments.map((s) => (typeof s === 'string' ? s : `\${${s.expr.text}}`)).join('')}'`;
    case 'array':
      return `[${value.items.map((i) => textOf(i.value)).join(', ')}]`;
    case 'object':
      return `{ ${value.entries.map((e) => `${e.key}: ${textOf(e.value)}`).join(', ')} }`;
    case 'for':
      return `[for ${value.item} in ${textOf(value.source)}: ${textOf(value.body)}]`;
  }
}

// ---------------------------------------------------------------- evaluation

/** What cannot be known before deployment (a resource property, a runtime function…). */
export class Unknown {
  constructor(readonly why: string) {}
}

export type Evaluated = string | number | boolean | null | Unknown | Evaluated[] | { [key: string]: Evaluated };

/** Names in scope: a file's params (bound by its caller, else defaults) and vars, plus loop variables. */
export class Scope {
  private readonly cache = new Map<string, Evaluated>();

  constructor(
    readonly bicep: BicepFile,
    private readonly bindings: ReadonlyMap<string, Evaluated> = new Map(),
    private readonly locals: ReadonlyMap<string, Evaluated> = new Map(),
    private readonly assumptions: ReadonlyMap<string, Evaluated> = new Map(),
  ) {}

  with(name: string, value: Evaluated): Scope {
    return new Scope(this.bicep, this.bindings, new Map([...this.locals, [name, value]]), this.assumptions);
  }

  /**
   * The same scope, taking what only a deployment knows (a resource's endpoint, an identity's
   * client id) from `values`: keyed by a param's name or by an expression's text.
   */
  assuming(values: Readonly<Record<string, Evaluated>>): Scope {
    return new Scope(this.bicep, this.bindings, this.locals, new Map([...this.assumptions, ...Object.entries(values)]));
  }

  /** An assumed value for `key`, if the scope was given one. */
  assumed(key: string): Evaluated | undefined {
    return this.assumptions.get(key);
  }

  lookup(name: string): Evaluated {
    if (this.locals.has(name)) return this.locals.get(name) as Evaluated;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    let v: Evaluated;
    const param = this.bicep.params.get(name);
    const variable = this.bicep.vars.get(name);
    if (param) {
      if (this.bindings.has(name)) v = this.bindings.get(name) as Evaluated;
      else v = param.defaultValue ? evaluate(param.defaultValue, this) : new Unknown(`param ${name} has no value`);
    } else if (variable) v = evaluate(variable.value, this);
    else v = new Unknown(name);
    if (v instanceof Unknown && this.assumptions.has(name)) v = this.assumptions.get(name) as Evaluated;
    this.cache.set(name, v);
    return v;
  }

  /** The scope of the file a module call deploys, its params bound to what the call passes. */
  moduleScope(module: BicepModule): Scope {
    const file = path.resolve(path.dirname(this.bicep.file), module.path);
    const bindings = new Map<string, Evaluated>();
    const params = entry(module.body, 'params')?.value;
    if (params?.kind === 'object') {
      for (const e of params.entries) bindings.set(e.key, module.loop ? new Unknown(`${e.key} (in a module loop)`) : evaluate(e.value, this));
    }
    return new Scope(parseBicep(file), bindings);
  }
}

export function isKnown(v: Evaluated): v is Exclude<Evaluated, Unknown> {
  if (v instanceof Unknown) return false;
  if (Array.isArray(v)) return v.every(isKnown);
  if (v !== null && typeof v === 'object') return Object.values(v).every(isKnown);
  return true;
}

export function evaluate(value: BicepValue, scope: Scope): Evaluated {
  switch (value.kind) {
    case 'string': {
      let out = '';
      for (const s of value.segments) {
        if (typeof s === 'string') out += s;
        else {
          const v = evaluate(s.expr, scope);
          if (v instanceof Unknown) return v;
          if (typeof v === 'object') return new Unknown(`\${${s.expr.text}} is not a scalar`);
          out += String(v);
        }
      }
      return out;
    }
    case 'array':
      return value.items.map((i) => evaluate(i.value, scope));
    case 'object':
      return Object.fromEntries(value.entries.map((e) => [e.key, evaluate(e.value, scope)]));
    case 'for': {
      const source = evaluate(value.source, scope);
      if (!Array.isArray(source)) return new Unknown(`for over ${textOf(value.source)}`);
      return source.map((item, i) => {
        let s = scope.with(value.item, item);
        if (value.index) s = s.with(value.index, i);
        return evaluate(value.body, s);
      });
    }
    case 'expr':
      return evaluateExpression(value.text, scope);
  }
}

function evaluateExpression(text: string, scope: Scope): Evaluated {
  const assumed = scope.assumed(text);
  if (assumed !== undefined) return assumed;
  const ternary = topLevelSplit(text, '?');
  if (ternary) {
    const branches = topLevelSplit(ternary[1], ':');
    if (branches) {
      const condition = evaluateExpression(ternary[0], scope);
      if (typeof condition !== 'boolean') return new Unknown(text);
      return evaluateExpression(condition ? branches[0] : branches[1], scope);
    }
  }
  for (const op of ['==', '!=', '>=', '<=', '>', '<'] as const) {
    const sides = topLevelSplit(text, op);
    if (!sides) continue;
    const [a, b] = sides.map((side) => evaluateExpression(side, scope));
    if (a instanceof Unknown || b instanceof Unknown || a === undefined || b === undefined) return new Unknown(text);
    if (op === '==' || op === '!=') return (JSON.stringify(a) === JSON.stringify(b)) === (op === '==');
    const ordered = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
    if (!ordered) return new Unknown(text);
    const [x, y] = [a, b] as [number | string, number | string];
    return op === '>=' ? x >= y : op === '<=' ? x <= y : op === '>' ? x > y : x < y;
  }
  if (text.startsWith('!')) {
    const v = evaluateExpression(text.slice(1).trim(), scope);
    return typeof v === 'boolean' ? !v : new Unknown(text);
  }
  if (text.startsWith("'") && text.endsWith("'")) {
    const literal = new Reader(scope.bicep.file, text).value();
    if (literal.kind === 'string') return evaluate(literal, scope);
  }
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  const call = /^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$/s.exec(text);
  if (call && balanced(call[2] as string)) {
    const [, fn, argText] = call as unknown as [string, string, string];
    const args = splitArguments(argText).map((a) => new Reader(scope.bicep.file, a).value());
    return callFunction(fn, args, scope, text);
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(text)) {
    const [head, ...props] = text.split('.');
    let v = scope.lookup(head as string);
    for (const p of props) {
      if (v instanceof Unknown) return new Unknown(text);
      if (v === null || typeof v !== 'object' || Array.isArray(v) || !(p in v)) return new Unknown(text);
      v = v[p] as Evaluated;
    }
    return v instanceof Unknown ? new Unknown(text) : v;
  }
  return new Unknown(text);
}

function callFunction(fn: string, args: BicepValue[], scope: Scope, text: string): Evaluated {
  const values = () => args.map((a) => evaluate(a, scope));
  switch (fn) {
    case 'concat': {
      const vs = values();
      if (vs.every(Array.isArray)) return (vs as Evaluated[][]).flat(1);
      if (vs.every((v) => typeof v === 'string')) return vs.join('');
      return new Unknown(text);
    }
    case 'join': {
      const [list, sep] = values();
      if (Array.isArray(list) && typeof sep === 'string' && list.every((v) => typeof v === 'string')) return list.join(sep);
      return new Unknown(text);
    }
    case 'empty': {
      const [v] = values();
      if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
      if (v === null) return true;
      if (typeof v === 'object' && !(v instanceof Unknown)) return Object.keys(v).length === 0;
      return new Unknown(text);
    }
    case 'loadJsonContent': {
      const [file] = values();
      if (typeof file !== 'string') return new Unknown(text);
      return JSON.parse(readFileSync(path.resolve(path.dirname(scope.bicep.file), file), 'utf8')) as Evaluated;
    }
    default:
      return new Unknown(text);
  }
}

/**
 * `text` split at the first `op` outside brackets and strings (`>` never as part of `=>`, `>=`),
 * or undefined when there is none.
 */
function topLevelSplit(text: string, op: string): [string, string] | undefined {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && text.startsWith(op, i)) {
      const before = text[i - 1] ?? '';
      const after = text[i + op.length] ?? '';
      // Not a longer operator (`>=` when looking for `>`, `=>`, `==`, `!=`), nor `?.`/`??`.
      if ((op === '>' || op === '<') && (after === '=' || before === '=')) continue;
      if (op === '?' && (after === '.' || after === '?' || before === '?')) continue;
      if (op === ':' && (before === ':' || after === ':')) continue;
      return [text.slice(0, i).trim(), text.slice(i + op.length).trim()];
    }
  }
  return undefined;
}

function balanced(s: string): boolean {
  let depth = 0;
  let quoted = false;
  for (const c of s) {
    if (c === "'") quoted = !quoted;
    else if (!quoted && (c === '(' || c === '[' || c === '{')) depth++;
    else if (!quoted && (c === ')' || c === ']' || c === '}') && --depth < 0) return false;
  }
  return depth === 0 && !quoted;
}

function splitArguments(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}
