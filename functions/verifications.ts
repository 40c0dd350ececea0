/**
 * The verify workflow's registrations: the verify orchestration, its activities and
 * `POST /api/recovery-points/{id}/verify` (CONTRACT.md). The work is in src/workflows/.
 *
 * The route checks the recovery point first (400 for a malformed id, 404 for an unknown one), so
 * a refused request starts nothing; then it starts one verify orchestration per request and
 * answers 202 + the Durable status URLs. The status's `output` says which blocks, if any,
 * failed. Any request body is ignored.
 */
import * as df from 'durable-functions';
import { registerActivities, registerClientRoute } from '../src/workflows/registration';
import { readRecoveryPoint } from '../src/catalog/recoveryPoints';
import { appStorageClients } from '../src/config/storageClients';
import type { VerifyInput } from '../src/workflows/inputs';
import { VERIFY_ACTIVITIES, VERIFY_ORCHESTRATOR, verifyInstanceId } from '../src/workflows/names';
import { verifyActivities } from '../src/workflows/verifyActivities';
import { verifyOrchestrator } from '../src/workflows/verifyOrchestrator';

export const FUNCTION_NAMES = {
  startVerify: 'startVerify',
} as const;

const clients = appStorageClients();

df.app.orchestration(VERIFY_ORCHESTRATOR, verifyOrchestrator);

const activities = verifyActivities({ vaultContainer: clients.vaultContainer, eventsQueue: clients.eventsQueue });
registerActivities(VERIFY_ACTIVITIES, activities);

registerClientRoute(FUNCTION_NAMES.startVerify, 'POST', 'recovery-points/{id}/verify', async (request, client, context) => {
  const manifest = await readRecoveryPoint(clients.vaultContainer, request.params.id ?? ''); // 400 malformed, 404 unknown
  const instanceId = verifyInstanceId(manifest.id, context.invocationId);
  const input: VerifyInput = { recoveryPointId: manifest.id };
  await client.startNew(VERIFY_ORCHESTRATOR, { instanceId, input });
  context.log(`verify of ${manifest.id}: started ${instanceId}`);
  return client.createCheckStatusResponse(request, instanceId);
});
