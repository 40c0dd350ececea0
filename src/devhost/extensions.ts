/**
 * Extension plumbing. An extension (DevhostExtension in hostTypes.ts) claims trigger types and
 * input-binding types the core does not run itself. The host:
 *
 * 1. indexes every function whose trigger type an extension claims (functionIndex.ts) and leaves
 *    running it to that extension: `start(host)` gets the FunctionHost, whose `functions` lists
 *    every function; `functionsOf(host, extension)` picks the extension's own;
 * 2. resolves, for any invocation of any function, each input binding whose type an extension
 *    claims, through that extension's `resolveInput(binding, fn)` (unless the caller of
 *    `invoke` already supplied the value);
 * 3. mounts the extensions' `routes` on its HTTP server, matched before the app's routes;
 * 4. starts extensions after the HTTP listener is up (so `host.baseUrl` is final) and before
 *    the core triggers and the first request; stops them, in reverse order, before the app's
 *    appTerminate hooks.
 */
import { devhostErrors, errorMessage } from './errors';
import { CORE_TRIGGER_KINDS, type IndexedFunction } from './functionIndex';
import type { DevhostExtension, ExtensionRoute, FunctionHost, HostLogger, RegisteredFunction, RpcTypedData } from './hostTypes';

/** The functions whose trigger `extension` runs. */
export function functionsOf(host: Pick<FunctionHost, 'functions'>, extension: Pick<DevhostExtension, 'triggerTypes'>): RegisteredFunction[] {
  const types = new Set(extension.triggerTypes.map((t) => t.toLowerCase()));
  return host.functions.filter((fn) => types.has(String(fn.trigger.type).toLowerCase()));
}

export class ExtensionSet {
  readonly #started: DevhostExtension[] = [];

  constructor(readonly extensions: readonly DevhostExtension[]) {
    const claimed = new Map<string, string>();
    for (const ext of extensions) {
      for (const type of [...ext.triggerTypes, ...ext.inputTypes]) {
        const lower = type.toLowerCase();
        if (CORE_TRIGGER_KINDS[lower]) throw devhostErrors.invalidArgument(`extension '${ext.name}'`, `the core host already runs '${type}'`);
        const other = claimed.get(lower);
        if (other !== undefined && other !== ext.name) {
          throw devhostErrors.invalidArgument(`extension '${ext.name}'`, `'${type}' is already claimed by extension '${other}'`);
        }
        claimed.set(lower, ext.name);
      }
    }
  }

  get routes(): ExtensionRoute[] {
    return this.extensions.flatMap((e) => [...(e.routes ?? [])]);
  }

  /** Values of the extension input bindings of `fn` that `provided` lacks. */
  async resolveInputs(fn: IndexedFunction, provided: ReadonlySet<string>): Promise<{ name: string; data: RpcTypedData }[]> {
    const out: { name: string; data: RpcTypedData }[] = [];
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.direction !== 'in' || name === fn.triggerName || provided.has(name)) continue;
      const type = String(binding.type ?? '').toLowerCase();
      const ext = this.extensions.find((e) => e.inputTypes.some((t) => t.toLowerCase() === type));
      if (!ext) continue;
      if (!ext.resolveInput) throw new Error(`extension '${ext.name}' claims input type '${binding.type}' but cannot resolve it`);
      out.push({ name, data: await ext.resolveInput(binding, fn) });
    }
    return out;
  }

  async startAll(host: FunctionHost): Promise<void> {
    for (const ext of this.extensions) {
      await ext.start(host);
      this.#started.push(ext);
      host.logger.log('information', `Extension '${ext.name}' started (${functionsOf(host, ext).length} function(s))`);
    }
  }

  async stopAll(logger: HostLogger): Promise<void> {
    while (this.#started.length > 0) {
      const ext = this.#started.pop() as DevhostExtension;
      try {
        await ext.stop();
      } catch (e) {
        logger.log('error', `Extension '${ext.name}' failed to stop: ${errorMessage(e)}`);
      }
    }
  }
}
