/**
 * The Azure deployment (azure.yaml + infra/) cross-checked against the code, as text: there is no
 * Bicep compiler here, so test/support/bicep.ts reads the templates and evaluates what can be known
 * before a deployment. What Azure fills in only at deployment (endpoints, the identity's client id)
 * is assumed below, in one place, with plausible values.
 *
 * - the app settings set every setting src/config/settings.ts requires, identity-based, and
 *   loadSettings accepts them; no setting or template holds a key, SAS or storage connection string;
 * - every container, queue and table the code uses (named by the settings' defaults and
 *   src/jobs/jobsTable.ts) is created in the vault account, which is hardened;
 * - the Node runtime is one package.json `engines` admits, and azure.yaml packages `dist/`;
 * - every role assignment is justified in a comment, scoped to a resource or resource group, and
 *   uses a verified built-in role or a custom role without wildcards; no Owner, Contributor or
 *   User Access Administrator anywhere;
 * - the azd shape: subscription-scoped main.bicep, main.parameters.json, the outputs azd reads,
 *   and module calls that pass exactly the params each module declares.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseRestoreTargets } from '../../../src/config/restoreTargets';
import { DEFAULT_EVENTS_QUEUE, DEFAULT_VAULT_CONTAINER, IDENTITY_PARTS, REQUIRED_IDENTITY_PARTS, SETTINGS, loadSettings } from '../../../src/config/settings';
import { jobsTableName } from '../../../src/jobs/jobsTable';
import { isIgnored, rangeAdmits, readIgnorePatterns, readSimpleYaml, type YamlMap } from '../../support/azdProject';
import {
  Scope,
  Unknown,
  at,
  entry,
  evaluate,
  isKnown,
  parseBicep,
  textOf,
  type BicepFile,
  type BicepModule,
  type BicepResource,
  type Evaluated,
} from '../../support/bicep';

const REPO = path.resolve(__dirname, '..', '..', '..');
const INFRA = path.join(REPO, 'infra');

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? bicepFiles(path.join(dir, d.name)) : d.name.endsWith('.bicep') ? [path.join(dir, d.name)] : [],
  );
}

const FILES = bicepFiles(INFRA).map((f) => parseBicep(f));
const rel = (b: BicepFile): string => path.relative(REPO, b.file);
const main = new Scope(parseBicep(path.join(INFRA, 'main.bicep')));

function moduleCall(scope: Scope, name: string): BicepModule {
  const m = scope.bicep.modules.find((x) => x.name === name);
  if (!m) throw new Error(`${rel(scope.bicep)} has no module '${name}'`);
  return m;
}

function resourcesOf(scope: Scope, type: string): BicepResource[] {
  return scope.bicep.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}

// What only a deployment knows, assumed (a user-assigned identity's client id, account endpoints
// as Azure reports them, with their trailing slash).
const CLIENT_ID = '3f1c7a52-9b0e-4d61-8f2a-5c6e0b9d1a47';
const HOST_ACCOUNT = 'sthostabc123';
const VAULT_ACCOUNT = 'stvaultabc123';
const RESTORE_GROUP = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-restore';
const endpoint = (account: string, service: string): string => `https://${account}.${service}.core.windows.net/`;

const parametersJson = JSON.parse(readFileSync(path.join(INFRA, 'main.parameters.json'), 'utf8')) as {
  parameters: Record<string, { value: unknown }>;
};
/** `${NAME=default}` in main.parameters.json: the default azd uses when the environment has no NAME. */
function azdDefault(param: string): string | undefined {
  const v = parametersJson.parameters[param]?.value;
  return typeof v === 'string' ? /^\$\{[A-Z0-9_]+=(.*)\}$/.exec(v)?.[1] : undefined;
}

const restoreContainers = evaluate(main.bicep.vars.get('restoreContainers')?.value ?? { kind: 'expr', text: 'restoreContainers' }, main);

const api = main.moduleScope(moduleCall(main, 'api')).assuming({
  'hostStorage.properties.primaryEndpoints.blob': endpoint(HOST_ACCOUNT, 'blob'),
  'hostStorage.properties.primaryEndpoints.queue': endpoint(HOST_ACCOUNT, 'queue'),
  'hostStorage.properties.primaryEndpoints.table': endpoint(HOST_ACCOUNT, 'table'),
  'functionApp.properties.defaultHostName': 'func-deltavault-abc123.azurewebsites.net',
  identityId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dv/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-dv',
  identityClientId: CLIENT_ID,
  vaultBlobEndpoint: endpoint(VAULT_ACCOUNT, 'blob'),
  vaultQueueEndpoint: endpoint(VAULT_ACCOUNT, 'queue'),
  vaultTableEndpoint: endpoint(VAULT_ACCOUNT, 'table'),
  applicationInsightsConnectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
  restoreTargets: Array.isArray(restoreContainers) ? [...restoreContainers, RESTORE_GROUP].join(',') : new Unknown('restoreContainers'),
  protectionConfig: azdDefault('protectionConfig') ?? new Unknown('protectionConfig has no azd default'),
});

const appSettingsResource = only(
  resourcesOf(api, 'Microsoft.Web/sites/config').filter((r) => textOf(entry(r.body, 'name')?.value) === "'appsettings'"),
  'appsettings config resource in infra/app/api.bicep',
);
const appSettingsValue = at(appSettingsResource.body, 'properties');
const appSettings = evaluate(appSettingsValue ?? { kind: 'object', entries: [] }, api) as Record<string, Evaluated>;

// ---------------------------------------------------------------- azure.yaml and the package

describe('azure.yaml packages the compiled app', () => {
  const yaml = readSimpleYaml(path.join(REPO, 'azure.yaml'));
  const services = yaml.services as YamlMap;
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string>; engines: { node: string } };

  test('one Functions service, the TypeScript project at the repository root, packaged whole (no dist: host.json lives at the root)', () => {
    expect(Object.keys(services)).toEqual(['api']);
    const svc = services.api as YamlMap;
    expect(svc.host).toBe('function');
    expect(['ts', 'js']).toContain(svc.language);
    expect(svc.project).toBe('.');
    expect(svc.dist).toBeUndefined();
  });

  test("the build script azd runs writes package.json's main (dist/functions/*.js)", () => {
    expect(pkg.scripts.build).toMatch(/\btsc\b.*-p tsconfig\.build\.json/);
    const build = JSON.parse(readFileSync(path.join(REPO, 'tsconfig.build.json'), 'utf8')) as { extends: string; include: string[] };
    const base = JSON.parse(readFileSync(path.join(REPO, build.extends), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(build.include).toContain('functions');
    expect(base.compilerOptions.rootDir).toBe('.');
    expect(pkg.main).toBe(`${base.compilerOptions.outDir}/functions/*.js`);
  });

  test('.funcignore keeps what the host needs and leaves out local secrets and tests', () => {
    const patterns = readIgnorePatterns(path.join(REPO, '.funcignore'));
    for (const kept of ['host.json', 'package.json', 'package-lock.json', 'dist/functions/backups.js', 'dist/src/config/settings.js', 'tsconfig.json', 'tsconfig.build.json', 'src/config/settings.ts']) {
      expect({ kept, ignored: isIgnored(patterns, kept) }).toEqual({ kept, ignored: false });
    }
    for (const left of ['local.settings.json', 'node_modules/zod/package.json', 'test/unit/settings.test.ts', '.azure/dev/.env', 'infra/main.bicep']) {
      expect({ left, ignored: isIgnored(patterns, left) }).toEqual({ left, ignored: true });
    }
  });

  test('azd finds the app by its azd-service-name tag', () => {
    const site = only(resourcesOf(api, 'Microsoft.Web/sites'), 'Function App');
    expect(textOf(entry(site.body, 'tags')?.value)).toMatch(/'azd-service-name': serviceName/);
    expect(evaluate({ kind: 'expr', text: 'serviceName' }, api)).toBe(Object.keys(services)[0]);
  });

  test('the Node runtime on Azure is one package.json engines admits, and so is every version the template allows', () => {
    const site = only(resourcesOf(api, 'Microsoft.Web/sites'), 'Function App');
    const runtime = evaluate(at(site.body, 'properties.functionAppConfig.runtime') ?? { kind: 'expr', text: '?' }, api);
    expect(runtime).toEqual({ name: 'node', version: '22' });
    expect(rangeAdmits(pkg.engines.node, '22.99.99')).toBe(true);
    const allowed = main.bicep.params.get('nodeVersion')?.decorators.find((d) => d.startsWith('@allowed'));
    const versions = [...(allowed ?? '').matchAll(/'(\d+)'/g)].map((m) => m[1] as string);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect({ v, admitted: rangeAdmits(pkg.engines.node, `${v}.99.99`) }).toEqual({ v, admitted: true });
  });

  test('the engines reader reads ranges as npm does', () => {
    expect(rangeAdmits('>=20', '22.1.0')).toBe(true);
    expect(rangeAdmits('>=20', '18.20.0')).toBe(false);
    expect(rangeAdmits('^20.9 || >=22', '21.0.0')).toBe(false);
    expect(rangeAdmits('20.x || 22.x', '22.3.1')).toBe(true);
    expect(rangeAdmits('>=20 <22', '22.0.0')).toBe(false);
  });
});

// ---------------------------------------------------------------- app settings

/** Every app setting the code requires of an identity-based (Azure) deployment, from the code's own constants. */
function requiredSettings(): string[] {
  const out: string[] = [];
  for (const name of Object.values(SETTINGS)) {
    if (name === SETTINGS.vault) out.push(...REQUIRED_IDENTITY_PARTS.map((p) => `${name}__${p}`), `${name}__credential`, `${name}__clientId`);
    else if (name === SETTINGS.arm) out.push(`${name}__credential`, `${name}__clientId`);
    else if (name === SETTINGS.hostStorage) out.push(...['blobServiceUri', 'queueServiceUri', 'tableServiceUri', 'credential', 'clientId'].map((p) => `${name}__${p}`));
    else out.push(name);
  }
  return out;
}

const SECRET_TEXT = /AccountKey\s*=|SharedAccessSignature|sig=|listKeys\s*\(|listAccountSas\s*\(|listServiceSas\s*\(|\.listKeys\b|primaryKey|connectionStrings\s*:/i;

describe('app settings', () => {
  test('the app settings are one object literal the reader understands', () => {
    expect(appSettingsValue?.kind).toBe('object');
    expect(Object.keys(appSettings).length).toBeGreaterThan(5);
  });

  test.each(requiredSettings())('sets %s', (name) => {
    expect(Object.keys(appSettings)).toContain(name);
  });

  test('every connection is identity-based: the user-assigned identity, never a connection string', () => {
    for (const prefix of [SETTINGS.vault, SETTINGS.arm, SETTINGS.hostStorage]) {
      expect(appSettings).not.toHaveProperty(prefix);
      expect(appSettings[`${prefix}__credential`]).toBe('managedidentity');
      expect(appSettings[`${prefix}__clientId`]).toBe(CLIENT_ID);
    }
    for (const name of Object.keys(appSettings).filter((n) => n.startsWith(`${SETTINGS.vault}__`))) {
      expect(IDENTITY_PARTS.map((p) => `${SETTINGS.vault}__${p}`)).toContain(name);
    }
    expect(textOf(entry(moduleCall(main, 'api').body, 'params')?.value)).toContain('identityClientId: identity.outputs.clientId');
  });

  test('the vault connection points at the vault module, the host connection at the host storage account', () => {
    const params = entry(moduleCall(main, 'api').body, 'params')?.value;
    for (const service of ['Blob', 'Queue', 'Table']) {
      expect(textOf(entry(params, `vault${service}Endpoint`)?.value)).toBe(`vault.outputs.${service.toLowerCase()}Endpoint`);
    }
    expect(moduleCall(main, 'vault').path).toBe('app/vault.bicep');
    expect(textOf(entry(params, 'hostStorageName')?.value)).toBe('hostStorage.outputs.name');
  });

  test('no setting is a secret, and no template reads one', () => {
    const allowed = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING']);
    for (const name of Object.keys(appSettings)) {
      if (allowed.has(name)) continue;
      expect({ name, secretLooking: /connection_?string|key$|_key\b|password|secret|sas\b|token/i.test(name) }).toEqual({ name, secretLooking: false });
    }
    for (const [name, value] of Object.entries(appSettings)) {
      expect({ name, secretText: typeof value === 'string' && SECRET_TEXT.test(value) }).toEqual({ name, secretText: false });
    }
    for (const b of FILES) expect({ file: rel(b), secretText: SECRET_TEXT.exec(b.text)?.[0] ?? null }).toEqual({ file: rel(b), secretText: null });
    // Flex Consumption sets these itself; a storage connection string for content is not used at all.
    for (const name of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', 'AzureWebJobsDashboard']) {
      expect(appSettings).not.toHaveProperty(name);
    }
  });

  test('Application Insights takes telemetry only with the identity: its connection string cannot write on its own', () => {
    expect(appSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe(`ClientId=${CLIENT_ID};Authorization=AAD`);
    const monitoring = main.moduleScope(moduleCall(main, 'monitoring'));
    const component = only(resourcesOf(monitoring, 'Microsoft.Insights/components'), 'Application Insights component');
    expect(evaluate(at(component.body, 'properties.DisableLocalAuth') ?? { kind: 'expr', text: '?' }, monitoring)).toBe(true);
  });

  test('loadSettings accepts exactly what Azure will hand the app', () => {
    const unknown = Object.entries(appSettings).filter(([, v]) => !isKnown(v));
    expect(unknown.map(([name, v]) => `${name}: ${(v as Unknown).why}`)).toEqual([]);
    const env = Object.fromEntries(Object.entries(appSettings).map(([k, v]) => [k, String(v)]));
    const settings = loadSettings(env, { cwd: '/home/site/wwwroot' });
    expect(settings.vault).toEqual({
      kind: 'identity',
      blobServiceUrl: `https://${VAULT_ACCOUNT}.blob.core.windows.net`,
      queueServiceUrl: `https://${VAULT_ACCOUNT}.queue.core.windows.net`,
      tableServiceUrl: `https://${VAULT_ACCOUNT}.table.core.windows.net`,
      credential: 'managedidentity',
      clientId: CLIENT_ID,
    });
    expect(settings.config).toEqual({ kind: 'file', path: '/home/site/wwwroot/protection.json' });
    expect(settings.restoreTargets.map((t) => t.kind).sort()).toEqual(['managedDisk', 'pageBlob']);
  });
});

// ---------------------------------------------------------------- the vault

const vault = main.moduleScope(moduleCall(main, 'vault'));
const vaultAccount = vault.moduleScope(moduleCall(vault, 'account'));

function created(type: string): string[] {
  return resourcesOf(vaultAccount, type).flatMap((r) => {
    const name = entry(r.body, 'name')?.value;
    if (!name) return [];
    if (!r.loop) return [evaluate(name, vaultAccount)].map(String);
    const source = evaluate(r.loop.source, vaultAccount);
    if (!Array.isArray(source)) throw new Error(`${rel(vaultAccount.bicep)}: cannot evaluate the loop over ${textOf(r.loop.source)}`);
    return source.map((item) => String(evaluate(name, vaultAccount.with(r.loop?.item as string, item))));
  });
}

describe('the vault account', () => {
  const settings = loadSettings(Object.fromEntries(Object.entries(appSettings).map(([k, v]) => [k, String(v)])), { cwd: '/home/site/wwwroot' });
  const containers = created('Microsoft.Storage/storageAccounts/blobServices/containers');
  const queues = created('Microsoft.Storage/storageAccounts/queueServices/queues');
  const tables = created('Microsoft.Storage/storageAccounts/tableServices/tables');

  test('the app uses the code defaults, so a local setup and Azure agree', () => {
    expect(settings.vaultContainer).toBe(DEFAULT_VAULT_CONTAINER);
    expect(settings.eventsQueue).toBe(DEFAULT_EVENTS_QUEUE);
  });

  test('the vault container is created', () => {
    expect(containers).toContain(settings.vaultContainer);
  });

  test('the events queue and its poison queue (<queue>-poison, where the host moves what the consumer cannot process) are created', () => {
    expect(queues).toEqual(expect.arrayContaining([settings.eventsQueue, `${settings.eventsQueue}-poison`]));
  });

  test('the job-history table, named after the events queue as src/jobs/jobsTable.ts derives it, is created', () => {
    expect(tables).toContain(jobsTableName(settings.eventsQueue));
  });

  test('every container of the vault account that DELTAVAULT_RESTORE_TARGETS admits is created, and the Bicep builds the setting from them', () => {
    const vaultTargets = settings.restoreTargets.filter((t) => t.kind === 'pageBlob' && t.blobServiceUrl === settings.vault.blobServiceUrl);
    expect(vaultTargets.length).toBeGreaterThan(0);
    for (const t of vaultTargets) expect(containers).toContain(t.kind === 'pageBlob' ? t.container : '');
    expect(parseRestoreTargets((restoreContainers as string[]).join(','), settings.vault.blobServiceUrl, settings.vaultContainer).problems).toEqual([]);
    expect(textOf(main.bicep.vars.get('restoreTargets')?.value)).toMatch(/\brestoreContainers\b/);
    expect(textOf(entry(entry(moduleCall(main, 'vault').body, 'params')?.value, 'restoreContainerNames')?.value)).toBe('restoreContainers');
  });

  test('is hardened: Entra ID only, TLS 1.2, HTTPS only, no anonymous blob access', () => {
    const account = only(resourcesOf(vaultAccount, 'Microsoft.Storage/storageAccounts'), 'storage account');
    const p = evaluate(at(account.body, 'properties') ?? { kind: 'expr', text: '?' }, vaultAccount) as Record<string, Evaluated>;
    expect(p).toMatchObject({ allowSharedKeyAccess: false, minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, supportsHttpsTrafficOnly: true, allowCrossTenantReplication: false });
  });

  test('blob and container soft delete are on', () => {
    const service = only(resourcesOf(vaultAccount, 'Microsoft.Storage/storageAccounts/blobServices'), 'blob service');
    const p = evaluate(at(service.body, 'properties') ?? { kind: 'expr', text: '?' }, vaultAccount) as Record<string, Record<string, Evaluated>>;
    expect(p.deleteRetentionPolicy).toMatchObject({ enabled: true });
    expect(p.containerDeleteRetentionPolicy).toMatchObject({ enabled: true });
    expect(p.deleteRetentionPolicy?.days).toBeGreaterThanOrEqual(7);
  });

  test('an immutability (WORM) policy on the vault container is a parameter, off by default and never locked by the template', () => {
    const worm = only(resourcesOf(vault, 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies'), 'immutability policy');
    expect(worm.condition).toBe('immutabilityDays > 0');
    expect(textOf(entry(moduleCall(main, 'vault').body, 'params')?.value)).toContain('immutabilityDays: vaultImmutabilityDays');
    expect(evaluate(main.bicep.params.get('vaultImmutabilityDays')?.defaultValue ?? { kind: 'expr', text: '?' }, main)).toBe(0);
    expect(vault.bicep.resources.some((r) => /lock/i.test(r.type))).toBe(false);
  });

  test('lives in its own account, optionally in another resource group or subscription', () => {
    expect(moduleCall(main, 'vault').path).not.toBe(moduleCall(main, 'hostStorage').path);
    expect(textOf(entry(moduleCall(main, 'vault').body, 'scope')?.value)).toBe('resourceGroup(vaultSubscription, vaultGroupName)');
    for (const p of ['vaultSubscriptionId', 'vaultResourceGroupName']) expect(main.bicep.params.has(p)).toBe(true);
  });

  test('host storage is hardened the same way (it is the same module)', () => {
    expect(path.resolve(INFRA, moduleCall(main, 'hostStorage').path)).toBe(path.resolve(path.dirname(vault.bicep.file), moduleCall(vault, 'account').path));
  });
});

// ---------------------------------------------------------------- roles

const builtinRoles = JSON.parse(readFileSync(path.join(INFRA, 'core/security/builtin-roles.json'), 'utf8')) as Record<string, { name: string; id: string }>;

/** Built-in roles deltavault may use, by name, with the GUIDs verified against Azure's published definitions. */
const VERIFIED_ROLES: Record<string, string> = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  'Data Operator for Managed Disks': '959f8984-c045-4866-89c7-12bf9737be2e',
};

/** Roles broader than anything deltavault needs (the last two carry storage listkeys/write/delete). */
const FORBIDDEN_ROLES: Record<string, string> = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Role Based Access Control Administrator': 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
  'Storage Account Contributor': '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  'Disk Snapshot Contributor': '7efff54f-a5b4-42b5-a1c5-5411624893ce',
};

const assignmentsByFile = FILES.map((b) => ({ b, assignments: b.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments') })).filter((x) => x.assignments.length > 0);
const roleAssignments = assignmentsByFile.flatMap(({ b, assignments }) => assignments.map((r) => ({ b, r, label: `${rel(b)}: ${r.name}` })));

/** The role a role assignment grants: a built-in (roles.<key>.id) or a custom role defined in the same file. */
function grantedRole(b: BicepFile, r: BicepResource): { builtin?: string; custom?: BicepResource } {
  const id = textOf(at(r.body, 'properties.roleDefinitionId'));
  const builtin = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', roles\.(\w+)\.id\)$/.exec(id);
  if (builtin) return { builtin: builtin[1] as string };
  const custom = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\.name\)$/.exec(id);
  const def = custom && b.resources.find((x) => x.name === custom[1] && x.type === 'Microsoft.Authorization/roleDefinitions');
  if (def) return { custom: def };
  throw new Error(`${rel(b)}: ${r.name}: roleDefinitionId ${id} names neither roles.<key>.id nor a custom role defined in the file`);
}

describe('role assignments', () => {
  test('there are some (a reader that found none would check nothing)', () => {
    expect(roleAssignments.length).toBeGreaterThanOrEqual(8);
  });

  test('the built-in roles are the verified ones, by name and GUID', () => {
    for (const [key, role] of Object.entries(builtinRoles)) {
      expect({ key, name: role.name, id: role.id }).toEqual({ key, name: role.name, id: VERIFIED_ROLES[role.name] });
    }
  });

  test('no template names Owner, Contributor, User Access Administrator or another over-broad role', () => {
    for (const b of FILES) {
      for (const [name, id] of Object.entries(FORBIDDEN_ROLES)) expect({ file: rel(b), role: name, present: b.text.toLowerCase().includes(id) }).toEqual({ file: rel(b), role: name, present: false });
    }
    expect(JSON.stringify(builtinRoles)).not.toMatch(new RegExp(Object.values(FORBIDDEN_ROLES).join('|'), 'i'));
  });

  test('none is made at subscription scope (nor management group or tenant)', () => {
    for (const { b } of assignmentsByFile) expect({ file: rel(b), targetScope: b.targetScope }).toEqual({ file: rel(b), targetScope: 'resourceGroup' });
    for (const { b, r, label } of roleAssignments) {
      const scope = entry(r.body, 'scope')?.value;
      // No scope: the resource group the module is deployed to. Otherwise one resource of the file.
      if (scope) expect({ label, scopeIsAResource: b.resources.some((x) => x.name === textOf(scope)) }).toEqual({ label, scopeIsAResource: true });
    }
    for (const b of FILES) for (const m of b.modules) expect({ module: `${rel(b)}: ${m.name}`, scope: textOf(entry(m.body, 'scope')?.value) }).not.toMatchObject({ scope: expect.stringMatching(/subscription\(|managementGroup\(|tenant\(/) });
  });

  test.each(roleAssignments.map((x) => [x.label, x] as const))('%s is justified in a comment that names its role', (_label, { b, r }) => {
    const role = grantedRole(b, r);
    const name = role.builtin
      ? (builtinRoles[role.builtin]?.name ?? `(unknown role ${role.builtin})`)
      : String(evaluate(at(role.custom?.body, 'properties.roleName') ?? { kind: 'expr', text: '?' }, new Scope(b).assuming({ environmentName: '', 'resourceGroup().name': '', 'take(uniqueString(resourceGroup().id), 6)': '' }))).replace(/\s*\(.*$/, '');
    const comment = r.comments.join(' ');
    expect(comment).toContain(name);
    expect(comment.split(/\s+/).length).toBeGreaterThanOrEqual(15);
  });

  test.each(roleAssignments.map((x) => [x.label, x] as const))('%s goes to the app identity as a service principal', (_label, { r }) => {
    expect(textOf(at(r.body, 'properties.principalId'))).toBe('principalId');
    expect(textOf(at(r.body, 'properties.principalType'))).toBe("'ServicePrincipal'");
  });

  const customRoles = FILES.flatMap((b) => b.resources.filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions').map((r) => ({ b, r, label: `${rel(b)}: ${r.name}` })));

  test.each(customRoles.map((x) => [x.label, x] as const))('custom role %s lists exact control-plane actions, assignable only in its resource group', (_label, { b, r }) => {
    const scope = new Scope(b);
    const permissions = evaluate(at(r.body, 'properties.permissions') ?? { kind: 'expr', text: '?' }, scope) as { actions: string[]; dataActions: string[]; notActions: string[] }[];
    const actions = permissions.flatMap((p) => p.actions);
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) {
      expect({ a, wildcard: a.includes('*') }).toEqual({ a, wildcard: false });
      // Disks and snapshots; of VMs only read (a VM expands to its disks, the tag selector lists VMs).
      expect(a).toMatch(/^Microsoft\.Compute\/(?:disks|snapshots)\/|^Microsoft\.Compute\/virtualMachines\/read$/);
    }
    expect(permissions.flatMap((p) => p.dataActions)).toEqual([]);
    expect(textOf(at(r.body, 'properties.assignableScopes'))).toBe('[resourceGroup().id]');
  });

  test('disks are written only in restore resource groups; protected groups get snapshots, never disk writes', () => {
    const actionsOf = (file: string): string[] =>
      FILES.filter((b) => rel(b) === file).flatMap((b) =>
        b.resources
          .filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions')
          .flatMap((r) => (evaluate(at(r.body, 'properties.permissions') ?? { kind: 'expr', text: '?' }, new Scope(b)) as { actions: string[] }[]).flatMap((p) => p.actions)),
      );
    const protectedActions = actionsOf('infra/app/disk-access.bicep');
    const restoreActions = actionsOf('infra/app/restore-access.bicep');
    expect(protectedActions).toEqual(expect.arrayContaining(['Microsoft.Compute/disks/read', 'Microsoft.Compute/snapshots/write', 'Microsoft.Compute/snapshots/delete', 'Microsoft.Compute/snapshots/beginGetAccess/action', 'Microsoft.Compute/snapshots/endGetAccess/action']));
    expect(protectedActions.filter((a) => /disks\/(write|delete|beginGetAccess)/.test(a))).toEqual([]);
    expect(restoreActions).toEqual(expect.arrayContaining(['Microsoft.Compute/disks/write', 'Microsoft.Compute/disks/beginGetAccess/action', 'Microsoft.Compute/disks/endGetAccess/action']));
    // A failed restore's disk is deleted (discardManagedDiskRestore, only a disk tagged with that restore).
    expect(restoreActions.filter((a) => /delete/.test(a))).toEqual(['Microsoft.Compute/disks/delete']);
    const disk = moduleCall(main, 'diskAccess');
    const restore = moduleCall(main, 'restoreAccess');
    expect([disk.path, textOf(disk.loop?.source)]).toEqual(['app/disk-access.bicep', 'protectedGroups']);
    expect([restore.path, textOf(restore.loop?.source)]).toEqual(['app/restore-access.bicep', 'restoreGroups']);
    expect(textOf(main.bicep.vars.get('protectedGroups')?.value)).toContain('protectedResourceGroupIds');
    expect(textOf(main.bicep.vars.get('restoreGroups')?.value)).toContain('restoreResourceGroupIds');
  });
});

// ---------------------------------------------------------------- azd shape

describe('the shape of an azd Functions template', () => {
  test('main.bicep deploys at subscription scope and main.parameters.json feeds it from the azd environment', () => {
    expect(main.bicep.targetScope).toBe('subscription');
    const given = Object.keys(parametersJson.parameters);
    for (const name of given) expect({ name, declared: main.bicep.params.has(name) }).toEqual({ name, declared: true });
    for (const p of main.bicep.params.values()) if (!p.defaultValue) expect({ required: p.name, given: given.includes(p.name) }).toEqual({ required: p.name, given: true });
    expect(parametersJson.parameters.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(parametersJson.parameters.location?.value).toBe('${AZURE_LOCATION}');
    for (const p of ['location', 'environmentName', 'protectedResourceGroupIds', 'restoreResourceGroupIds', 'protectionConfig']) expect(main.bicep.params.has(p)).toBe(true);
  });

  test('it outputs what azd and the README read', () => {
    for (const o of ['AZURE_LOCATION', 'AZURE_TENANT_ID', 'AZURE_RESOURCE_GROUP', 'SERVICE_API_NAME', 'SERVICE_API_URI', 'AZURE_FUNCTION_NAME', 'DELTAVAULT_API_URL', 'DELTAVAULT_IDENTITY_PRINCIPAL_ID', 'DELTAVAULT_VAULT_ACCOUNT']) {
      expect(main.bicep.outputs.has(o)).toBe(true);
    }
    expect(String(evaluate(api.bicep.outputs.get('uri')?.value ?? { kind: 'expr', text: '?' }, api))).toMatch(/^https:\/\//);
  });

  test('modules per resource kind: the app under infra/app, reusable pieces under infra/core', () => {
    for (const m of main.bicep.modules) expect(m.path).toMatch(/^(app|core)\//);
    for (const dir of ['app', 'core/host', 'core/identity', 'core/monitor', 'core/storage']) expect(existsSync(path.join(INFRA, dir))).toBe(true);
  });

  test.each(FILES.flatMap((b) => b.modules.map((m) => [`${rel(b)}: ${m.name}`, b, m] as const)))('%s passes exactly the params its module declares', (_label, b, m) => {
    const file = path.resolve(path.dirname(b.file), m.path);
    expect(existsSync(file)).toBe(true);
    const target = parseBicep(file);
    const passed = (entry(m.body, 'params')?.value?.kind === 'object' ? (entry(m.body, 'params')?.value as { entries: { key: string }[] }).entries : []).map((e) => e.key);
    for (const p of passed) expect({ param: p, declared: target.params.has(p) }).toEqual({ param: p, declared: true });
    for (const p of target.params.values()) if (!p.defaultValue) expect({ required: p.name, passed: passed.includes(p.name) }).toEqual({ required: p.name, passed: true });
  });

  test('every resource names an API version', () => {
    for (const b of FILES) for (const r of b.resources) expect({ r: `${rel(b)}: ${r.name}`, v: /^\d{4}-\d{2}-\d{2}(-preview)?$/.test(r.apiVersion) }).toEqual({ r: `${rel(b)}: ${r.name}`, v: true });
  });
});

// ---------------------------------------------------------------- host.json

describe('host.json for long copies', () => {
  const host = JSON.parse(readFileSync(path.join(REPO, 'host.json'), 'utf8')) as {
    functionTimeout: string;
    extensions: { queues: { maxDequeueCount: number }; durableTask: { hubName: string; maxConcurrentActivityFunctions: number } };
  };

  test('activities get more than the 30-minute default but are never unbounded', () => {
    const m = /^(\d+):(\d{2}):(\d{2})$/.exec(host.functionTimeout);
    expect(m).not.toBeNull();
    const minutes = Number(m?.[1]) * 60 + Number(m?.[2]);
    expect(minutes).toBeGreaterThan(30);
    expect(minutes).toBeLessThanOrEqual(4 * 60);
  });

  test('the task hub is named and activity concurrency is bounded (each copy activity holds its own windows in memory)', () => {
    expect(host.extensions.durableTask.hubName).toMatch(/^[A-Za-z][A-Za-z0-9]{2,44}$/);
    expect(host.extensions.durableTask.maxConcurrentActivityFunctions).toBeLessThanOrEqual(16);
    expect(host.extensions.queues.maxDequeueCount).toBeGreaterThanOrEqual(1);
  });
});
