/**
 * HTTP: the protected disks (CONTRACT.md `GET /api/disks`): each disk of the protection config
 * with its policy, last backup job, last recovery point and whether its RPO is met. Registration
 * only; src/api/disksApi.ts does the work.
 */
import { app } from '@azure/functions';
import { disksApi } from '../src/api/disksApi';
import { appSettings } from '../src/config/settings';
import { appStorageClients } from '../src/config/storageClients';
import { appJobsTable } from '../src/jobs/jobsTable';
import { appProtectionConfig, configAtLoad } from '../src/workflows/appConfig';

export const FUNCTION_NAMES = {
  listDisks: 'listDisks',
} as const;

const settings = appSettings();
const loadedConfig = configAtLoad(settings);

const api = disksApi({
  config: () => appProtectionConfig(settings, loadedConfig),
  vaultContainer: appStorageClients().vaultContainer,
  jobsTable: appJobsTable(),
});

app.http(FUNCTION_NAMES.listDisks, {
  methods: ['GET'],
  authLevel: 'function',
  route: 'disks',
  handler: (request, context) => api.listDisks(request, context),
});
