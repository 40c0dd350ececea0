/**
 * Where the job history lives: a table in the vault account, named after the events queue it
 * is built from, so one queue and its history go together (and a test's unique queue gets its
 * own table):
 *
 *   the events queue's name, a trailing `-events` dropped, hyphens dropped, + `jobs`
 *   deltavault-events (the default) → deltavaultjobs;  e2e-q1-events → e2eq1jobs
 *
 * (A table name is 3-63 letters and digits starting with a letter: a name starting with a digit
 * gets a `t` in front; one that would be too long is cut and given 8 hex digits of the queue
 * name's SHA-256, so two queues never share a table.)
 *
 * The table service: the connection string's (TableEndpoint, or the account's default), or for
 * an identity-based connection `DELTAVAULT_VAULT__tableServiceUri`, else the blob service URL's
 * `<account>.table.<suffix>` twin.
 */
import { createHash } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { identityCredential } from '../config/storageClients';
import { appSettings, type Settings } from '../config/settings';
import { errors } from '../errors';

const MAX_TABLE_NAME = 63;
const SUFFIX = 'jobs';

/** The job-history table of the events queue `eventsQueue` (see above). */
export function jobsTableName(eventsQueue: string): string {
  let base = eventsQueue.replace(/-events$/, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  if (!/^[a-z]/.test(base)) base = `t${base}`;
  if (base.length + SUFFIX.length > MAX_TABLE_NAME) {
    const hash = createHash('sha256').update(eventsQueue).digest('hex').slice(0, 8);
    base = `${base.slice(0, MAX_TABLE_NAME - SUFFIX.length - hash.length)}${hash}`;
  }
  return `${base}${SUFFIX}`;
}

/** The table service URL for an identity-based connection. */
function tableServiceUrl(settings: Settings): string {
  const { vault } = settings;
  if (vault.tableServiceUrl) return vault.tableServiceUrl;
  const url = new URL(vault.blobServiceUrl);
  const twin = url.hostname.replace(/^([a-z0-9]+)\.blob\./, '$1.table.');
  if (twin === url.hostname) {
    throw errors.invalidArgument('the job history table', 'DELTAVAULT_VAULT__tableServiceUri must be set (the table service cannot be told from the blob service URL)');
  }
  return `${url.protocol}//${twin}${url.port ? `:${url.port}` : ''}`;
}

/** The job-history table client for `settings`; no request is made until it is used. */
export function createJobsTableClient(settings: Settings): TableClient {
  const name = jobsTableName(settings.eventsQueue);
  const { vault } = settings;
  if (vault.kind === 'connectionString') {
    if (!vault.tableServiceUrl) {
      throw errors.invalidArgument('the job history table', 'the DELTAVAULT_VAULT connection string names no table endpoint (TableEndpoint, or AccountName)');
    }
    return TableClient.fromConnectionString(vault.connectionString.reveal(), name, { allowInsecureConnection: vault.emulator });
  }
  const url = tableServiceUrl(settings);
  return new TableClient(url, name, identityCredential(vault), { allowInsecureConnection: url.startsWith('http://') });
}

let table: TableClient | undefined;

/** The app's job-history table client, built once from `appSettings()`. */
export function appJobsTable(): TableClient {
  table ??= createJobsTableClient(appSettings());
  return table;
}
