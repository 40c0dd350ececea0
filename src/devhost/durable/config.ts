/**
 * The host.json `extensions.durableTask` settings the engine honours, validated with errors that
 * name the file and field: `hubName` (may be `%AppSetting%`; default TestHubName, as Core Tools),
 * `maxConcurrentActivityFunctions`, `maxConcurrentOrchestratorFunctions` (default 10 each) and
 * `storageProvider.connectionStringName` / `connectionName` (default AzureWebJobsStorage). Pure.
 */

export interface DurableConfig {
  hubName: string;
  connectionName: string;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
}

export const DEFAULT_HUB_NAME = 'TestHubName';
export const DEFAULT_CONNECTION_SETTING = 'AzureWebJobsStorage';
export const DEFAULT_MAX_CONCURRENCY = 10;

export class DurableConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`host.json: extensions.durableTask.${field} ${problem}`);
    this.name = 'DurableConfigError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lookup(settings: Readonly<Record<string, string>>, name: string): string | undefined {
  if (settings[name] !== undefined) return settings[name];
  const lower = name.toLowerCase();
  const key = Object.keys(settings).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : settings[key];
}

function positiveInt(section: Record<string, unknown>, field: string): number {
  const value = section[field];
  if (value === undefined || value === null) return DEFAULT_MAX_CONCURRENCY;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DurableConfigError(field, `must be a positive integer (got ${JSON.stringify(value)})`);
  }
  return value;
}

export function readDurableConfig(hostJson: Readonly<Record<string, unknown>>, settings: Readonly<Record<string, string>>): DurableConfig {
  const extensions = hostJson.extensions;
  const section = isRecord(extensions) && isRecord(extensions.durableTask) ? extensions.durableTask : {};
  let hubName = DEFAULT_HUB_NAME;
  if (section.hubName !== undefined) {
    if (typeof section.hubName !== 'string') throw new DurableConfigError('hubName', 'must be a string');
    hubName = section.hubName;
    const setting = /^%(.+)%$/.exec(hubName);
    if (setting) {
      const value = lookup(settings, setting[1] as string);
      if (value === undefined) throw new DurableConfigError('hubName', `names the app setting '${setting[1]}', which is not set`);
      hubName = value;
    }
  }
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(hubName)) {
    throw new DurableConfigError(
      'hubName',
      `"${hubName}" is not a valid task hub name: 3 to 45 letters and digits, starting with a letter`,
    );
  }
  let connectionName = DEFAULT_CONNECTION_SETTING;
  const provider = section.storageProvider;
  if (isRecord(provider)) {
    const name = provider.connectionStringName ?? provider.connectionName;
    if (name !== undefined) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new DurableConfigError('storageProvider.connectionStringName', 'must be a non-empty string');
      }
      connectionName = name;
    }
  }
  return {
    hubName,
    connectionName,
    maxConcurrentActivityFunctions: positiveInt(section, 'maxConcurrentActivityFunctions'),
    maxConcurrentOrchestratorFunctions: positiveInt(section, 'maxConcurrentOrchestratorFunctions'),
  };
}
