/**
 * Turns what the app registered into the functions the host runs, as the Functions host indexes
 * them: one trigger per function, `%name%` app-setting references resolved in binding
 * properties, queue names normalized, every storage `connection` resolved (a missing setting is a
 * start-up failure naming local.settings.json and the field). A function whose trigger or
 * binding type nothing here runs is reported and left out, as the host marks it "in error".
 */
import type { CoreRegistration, CoreRegistry } from './coreApi';
import { devhostErrors } from './errors';
import type { DevhostExtension, HostLogger, RegisteredFunction, RpcBindingInfo } from './hostTypes';
import { lookupConnection, resolveSettingExpressions } from './settings';
import { normalizeQueueName } from './storage';

export type TriggerKind = 'http' | 'timer' | 'queue' | 'extension';

export const CORE_TRIGGER_KINDS: Readonly<Record<string, Exclude<TriggerKind, 'extension'>>> = {
  httptrigger: 'http',
  timertrigger: 'timer',
  queuetrigger: 'queue',
};

export interface IndexedFunction extends RegisteredFunction {
  readonly kind: TriggerKind;
  /** The extension that runs this function's trigger (kind 'extension'). */
  readonly extension?: DevhostExtension;
  readonly registration: CoreRegistration;
  /** Resolved storage connection strings, by binding name (queue triggers and outputs). */
  readonly connections: Readonly<Record<string, string>>;
}

export interface IndexOptions {
  registry: CoreRegistry;
  settings: Readonly<Record<string, string>>;
  /** For error messages: where a missing setting belongs. */
  localSettingsFile: string;
  /** What `UseDevelopmentStorage=true` means. */
  developmentStorage: string;
  extensions: readonly DevhostExtension[];
  logger: HostLogger;
}

const NOT_RESOLVED = new Set(['name', 'type', 'direction', 'dataType', 'properties', 'route', 'methods']);
const STORAGE_QUEUE_TYPES = new Set(['queuetrigger', 'queue']);

function isTriggerType(type: unknown): type is string {
  return typeof type === 'string' && /trigger$/i.test(type);
}

function resolveBindings(
  reg: CoreRegistration,
  options: IndexOptions,
): Record<string, RpcBindingInfo> {
  const out: Record<string, RpcBindingInfo> = {};
  for (const [bindingName, binding] of Object.entries(reg.metadata.bindings)) {
    const resolved: RpcBindingInfo = { ...(binding as RpcBindingInfo) };
    for (const [key, value] of Object.entries(binding)) {
      if (NOT_RESOLVED.has(key) || typeof value !== 'string') continue;
      const r = resolveSettingExpressions(value, options.settings);
      if (r.missing !== undefined) {
        throw devhostErrors.missingSetting(options.localSettingsFile, r.missing, reg.metadata.name, `bindings.${bindingName}.${key}`);
      }
      resolved[key] = r.value;
    }
    out[bindingName] = resolved;
  }
  return out;
}

function extensionFor(type: string, extensions: readonly DevhostExtension[], kind: 'triggerTypes' | 'inputTypes'): DevhostExtension | undefined {
  const lower = type.toLowerCase();
  return extensions.find((e) => e[kind].some((t) => t.toLowerCase() === lower));
}

/** Why the devhost cannot run this binding, or undefined when it can. */
function unsupportedBinding(bindingName: string, binding: RpcBindingInfo, triggerKind: TriggerKind, extensions: readonly DevhostExtension[]): string | undefined {
  const type = String(binding.type ?? '');
  const lower = type.toLowerCase();
  if (isTriggerType(type)) return undefined;
  if (binding.direction === 'out') {
    if (lower === 'http') return triggerKind === 'http' ? undefined : `binding '${bindingName}': an http output needs an http trigger`;
    if (lower === 'queue') return undefined;
  } else if (binding.direction === 'in' && extensionFor(type, extensions, 'inputTypes')) {
    return undefined;
  }
  return `The binding type(s) '${type}' (binding '${bindingName}', direction '${binding.direction ?? 'in'}') are not supported by the devhost`;
}

export function indexFunctions(options: IndexOptions): { functions: IndexedFunction[]; disabled: { name: string; problem: string }[] } {
  const functions: IndexedFunction[] = [];
  const disabled: { name: string; problem: string }[] = [];
  const names = new Set<string>();
  for (const reg of options.registry.functions.values()) {
    const name = reg.metadata.name;
    if (names.has(name.toLowerCase())) throw devhostErrors.duplicateFunction(name, reg.entryPoint);
    names.add(name.toLowerCase());

    const triggers = Object.entries(reg.metadata.bindings).filter(([, b]) => isTriggerType(b.type));
    if (triggers.length !== 1) {
      throw devhostErrors.invalidBinding(name, 'bindings', `expected exactly one trigger binding, found ${triggers.length}`, reg.entryPoint);
    }
    const bindings = resolveBindings(reg, options);
    const [triggerName] = triggers[0] as [string, unknown];
    const trigger = bindings[triggerName] as RpcBindingInfo;
    const triggerType = String(trigger.type);
    const coreKind = CORE_TRIGGER_KINDS[triggerType.toLowerCase()];
    const extension = coreKind ? undefined : extensionFor(triggerType, options.extensions, 'triggerTypes');
    const kind: TriggerKind | undefined = coreKind ?? (extension ? 'extension' : undefined);
    if (!kind) {
      disabled.push({ name, problem: `The binding type(s) '${triggerType}' are not registered: no devhost extension runs this trigger` });
      continue;
    }
    const problems = Object.entries(bindings)
      .map(([bindingName, binding]) => unsupportedBinding(bindingName, binding, kind, options.extensions))
      .filter((p): p is string => p !== undefined);
    if (problems.length > 0) {
      disabled.push({ name, problem: problems.join('; ') });
      continue;
    }

    const connections: Record<string, string> = {};
    for (const [bindingName, binding] of Object.entries(bindings)) {
      if (!STORAGE_QUEUE_TYPES.has(String(binding.type).toLowerCase())) continue;
      const queueName = normalizeQueueName(String(binding.queueName ?? ''));
      if ('problem' in queueName) throw devhostErrors.invalidBinding(name, `bindings.${bindingName}.queueName`, queueName.problem, reg.entryPoint);
      binding.queueName = queueName.name;
      const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
      const found = lookupConnection(options.settings, connection, options.developmentStorage);
      if (found.kind === 'missing') {
        throw devhostErrors.missingSetting(options.localSettingsFile, found.settingName, name, `bindings.${bindingName}.connection`);
      }
      if (found.kind === 'identity') {
        throw devhostErrors.unsupported(
          `function '${name}': the identity-based connection '${found.settingName}__…' (give '${found.settingName}' a connection string locally)`,
          options.localSettingsFile,
          `Values.${found.settingName}`,
        );
      }
      connections[bindingName] = found.connectionString;
    }

    functions.push({
      name,
      functionId: reg.functionId,
      bindings,
      triggerName,
      trigger,
      retryOptions: reg.metadata.retryOptions,
      kind,
      extension,
      registration: reg,
      connections,
    });
  }
  for (const d of disabled) options.logger.log('error', `The '${d.name}' function is in error: ${d.problem}`, { functionName: d.name });
  return { functions, disabled };
}
