/**
 * HTTP: the recovery points of a disk, and one recovery point (CONTRACT.md). Registrations only;
 * src/api/recoveryPointsApi.ts does the work. Settings are validated when the app loads, so a
 * misconfigured app stops at start with every problem listed instead of failing per request.
 */
import { app } from '@azure/functions';
import { recoveryPointsApi } from '../src/api/recoveryPointsApi';
import { appStorageClients } from '../src/config/storageClients';

export const FUNCTION_NAMES = {
  listRecoveryPoints: 'listRecoveryPoints',
  getRecoveryPoint: 'getRecoveryPoint',
} as const;

const api = recoveryPointsApi(appStorageClients().vaultContainer);

app.http(FUNCTION_NAMES.listRecoveryPoints, {
  methods: ['GET'],
  authLevel: 'function',
  route: 'disks/{diskKey}/recovery-points',
  handler: (request, context) => api.listRecoveryPoints(request, context),
});

app.http(FUNCTION_NAMES.getRecoveryPoint, {
  methods: ['GET'],
  authLevel: 'function',
  route: 'recovery-points/{id}',
  handler: (request, context) => api.getRecoveryPoint(request, context),
});
