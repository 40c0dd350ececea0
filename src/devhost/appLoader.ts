/**
 * Loads a Functions app's entry points the way the Node.js worker does (src/startApp.ts,
 * src/loadScriptFile.ts): package.json `main`, a file or a glob, every match loaded in order,
 * ES modules through `import()`, CommonJS through Node's own `require` (never a test runner's),
 * while the registry is active so `@azure/functions` registers into it. A throwing entry point
 * is a start-up failure naming the file. `unload` forgets the CommonJS modules the app brought,
 * so a later devhost in the same process loads (and registers) them afresh.
 */
import { existsSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeModuleSystem, type CoreRegistry } from './coreApi';
import { devhostErrors, errorMessage } from './errors';
import { globFiles, hasGlobMagic } from './glob';
import { readJsonFile } from './jsonFile';

export interface AppPackageJson {
  file: string;
  main: string;
  type: 'module' | 'commonjs';
}

export function readAppPackageJson(appDir: string): AppPackageJson {
  const file = path.join(appDir, 'package.json');
  const read = readJsonFile(file);
  if (!read.ok) {
    throw devhostErrors.invalidPackageJson(
      file,
      undefined,
      read.missing ? 'file not found: the app folder needs a package.json whose "main" names its entry points' : read.problem,
    );
  }
  const pkg = read.value as { main?: unknown; type?: unknown } | null;
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw devhostErrors.invalidPackageJson(file, undefined, 'expected a JSON object');
  if (typeof pkg.main !== 'string' || pkg.main.trim() === '') {
    throw devhostErrors.invalidPackageJson(file, 'main', 'must name the entry point file(s), e.g. "dist/functions/*.js"');
  }
  return { file, main: pkg.main.trim(), type: pkg.type === 'module' ? 'module' : 'commonjs' };
}

/** Absolute paths of the entry points `main` names. */
export function entryPointFiles(appDir: string, pkg: AppPackageJson): string[] {
  if (!hasGlobMagic(pkg.main)) {
    const file = path.resolve(appDir, pkg.main);
    if (!existsSync(file)) throw devhostErrors.invalidPackageJson(pkg.file, 'main', `"${pkg.main}" does not exist (is the app built?)`);
    return [file];
  }
  const files = globFiles(pkg.main, appDir);
  if (files.length === 0) {
    throw devhostErrors.invalidPackageJson(pkg.file, 'main', `"${pkg.main}" matches no file (is the app built?)`);
  }
  return files.map((f) => path.resolve(appDir, f));
}

function isEsModule(file: string, pkg: AppPackageJson): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  return pkg.type === 'module';
}

// A real dynamic import (TypeScript's CommonJS output would turn `import()` into `require`).
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function moduleCache(): Record<string, unknown> {
  return (nodeModuleSystem() as unknown as { _cache: Record<string, unknown> })._cache;
}

/** The first stack frame inside the app, to point at the line that threw. */
function realPathOr(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

function appFrame(error: unknown, appDir: string): string | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  // Node names modules by their real path: an app folder reached through a symlink shows there.
  const dirs = [...new Set([appDir, realPathOr(appDir)])];
  const inApp = (l: string): boolean =>
    dirs.some((dir) => {
      const at = l.indexOf(dir);
      return at !== -1 && !l.slice(at + dir.length).includes(`${path.sep}node_modules${path.sep}`);
    });
  const line = stack?.split('\n').find(inApp);
  const m = line ? /\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?\s*$/.exec(line.trim()) : null;
  return m?.[1];
}

export interface LoadedApp {
  entryPoints: string[];
  /** Forgets the CommonJS modules loading the app added to Node's cache. */
  unload(): void;
}

export async function loadApp(appDir: string, registry: CoreRegistry): Promise<LoadedApp> {
  const pkg = readAppPackageJson(appDir);
  const files = entryPointFiles(appDir, pkg);
  const cache = moduleCache();
  const before = new Set(Object.keys(cache));
  const unload = (): void => {
    for (const key of Object.keys(cache)) if (!before.has(key)) delete cache[key];
  };
  try {
    for (const file of files) {
      registry.currentEntryPoint = file;
      try {
        if (isEsModule(file, pkg)) await dynamicImport(pathToFileURL(file).href);
        else nodeModuleSystem().createRequire(file)(file);
      } catch (e) {
        const where = appFrame(e, appDir);
        throw devhostErrors.appLoadFailed(
          file,
          `the app threw while registering its functions: ${errorMessage(e)}${where ? ` (at ${where})` : ''}`,
          e,
        );
      } finally {
        registry.currentEntryPoint = undefined;
      }
    }
  } catch (e) {
    unload();
    throw e;
  }
  return { entryPoints: files, unload };
}
