/**
 * The restore workflow's registrations: the restore orchestration, its activities,
 * `POST /api/restores` and `GET /api/restores/{id}` (CONTRACT.md). The work is in src/workflows/.
 *
 * `POST /api/restores` checks everything before it starts anything, so a refused request changes
 * nothing: the body (400, 413 over 16 KiB), the target kind (501 for managed disks, not yet
 * supported), the allow-list DELTAVAULT_RESTORE_TARGETS (403), the recovery point (404), the
 * target blob (409 when it exists or a restore into it still runs). Then it starts the restore
 * orchestration, instance `restore-<hash of the target>`, and answers 202 + status URLs.
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { readRecoveryPoint } from '../src/catalog/recoveryPoints';
import { isRestoreAllowed } from '../src/config/restoreTargets';
import { SETTINGS, appSettings } from '../src/config/settings';
import { appStorageClients } from '../src/config/storageClients';
import { DeltavaultError, errors, storageStatus } from '../src/errors';
import { readJsonBody } from '../src/http/jsonBody';
import { answerWithProblems, problem, problemFromZod, problemResponse } from '../src/http/problem';
import { withErrorCode } from '../src/workflows/activities';
import { restoreRequestSchema, type RestoreInput } from '../src/workflows/inputs';
import { RESTORE_ACTIVITIES, RESTORE_INSTANCE_ID, RESTORE_ORCHESTRATOR, restoreInstanceId } from '../src/workflows/names';
import { readRestoreProgress, restoreActivities } from '../src/workflows/restoreActivities';
import { restoreOrchestrator } from '../src/workflows/restoreOrchestrator';
import { isActiveStatus } from '../src/workflows/starters';

export const FUNCTION_NAMES = {
  startRestore: 'startRestore',
  getRestore: 'getRestore',
} as const;

/** A larger `POST /api/restores` body is refused unread (413). */
export const MAX_RESTORE_REQUEST_BYTES = 16 * 1024;

const settings = appSettings();
const clients = appStorageClients();

// ---- orchestration and activities

df.app.orchestration(RESTORE_ORCHESTRATOR, restoreOrchestrator);

const activities = restoreActivities({
  blobService: clients.blobService,
  vaultContainer: clients.vaultContainer,
  eventsQueue: clients.eventsQueue,
});
for (const [key, name] of Object.entries(RESTORE_ACTIVITIES) as [keyof typeof RESTORE_ACTIVITIES, string][]) {
  const run = activities[key] as (input: never) => Promise<unknown>;
  df.app.activity(name, { handler: (input: unknown) => withErrorCode(() => run(input as never)) });
}

// ---- POST /api/restores



async function runtimeStatusOf(client: df.DurableClient, instanceId: string): Promise<string | undefined> {
  try {
    const status = await client.getStatus(instanceId);
    return status?.runtimeStatus as string | undefined;
  } catch {
    return undefined; // no such instance
  }
}

df.app.client.http(FUNCTION_NAMES.startRestore, {
  methods: ['POST'],
  authLevel: 'function',
  route: 'restores',
  handler: (request: HttpRequest, client: df.DurableClient, context: InvocationContext): Promise<HttpResponseInit> =>
    answerWithProblems(context, async () => {
      const read = await readJsonBody(request, MAX_RESTORE_REQUEST_BYTES, '{ "recoveryPointId": "<id>", "target": { "kind": "pageBlob", "container": "<name>", "blob": "<name>" } }', context);
      if ('response' in read) return read.response;
      const body = read.body;
      const parsed = restoreRequestSchema.safeParse(body);
      if (!parsed.success) return problemResponse(problemFromZod(parsed.error, 'body', context));
      const { recoveryPointId, target } = parsed.data;
      if (target.kind !== 'pageBlob') throw errors.notSupported('restoring to a managed disk is not supported yet; restore to a page blob (target.kind "pageBlob")');

      const destination = { kind: 'pageBlob' as const, blobServiceUrl: settings.vault.blobServiceUrl, container: target.container, blob: target.blob };
      if (!isRestoreAllowed(settings.restoreTargets, destination)) {
        return problemResponse(
          problem(
            403,
            'INVALID_ARGUMENT',
            `the restore target '${target.container}/${target.blob}' is not admitted by ${SETTINGS.restoreTargets}; restore into a container (or folder) it names`,
            { instance: `urn:uuid:${context.invocationId}` },
          ),
        );
      }
      await readRecoveryPoint(clients.vaultContainer, recoveryPointId); // 400 for a malformed id, 404 for an unknown one

      const blob = clients.blobService.getContainerClient(target.container).getPageBlobClient(target.blob);
      const instanceId = restoreInstanceId(blob.url);
      const status = await runtimeStatusOf(client, instanceId);
      if (isActiveStatus(status)) throw errors.alreadyExists('restore into target', `${target.container}/${target.blob}`);
      let exists: boolean;
      try {
        exists = await blob.exists();
      } catch (e) {
        throw errors.storage(`checking the restore target ${target.container}/${target.blob}`, e);
      }
      if (exists) throw errors.alreadyExists('restore target blob', `${target.container}/${target.blob}`);

      const input: RestoreInput = { recoveryPointId, target: { kind: 'pageBlob', container: target.container, blob: target.blob } };
      try {
        await client.startNew(RESTORE_ORCHESTRATOR, { instanceId, input });
      } catch (e) {
        if (/already exists|409|conflict/i.test(e instanceof Error ? e.message : String(e))) {
          throw errors.alreadyExists('restore into target', `${target.container}/${target.blob}`);
        }
        throw e;
      }
      context.log(`restore of ${recoveryPointId} into ${target.container}/${target.blob}: started ${instanceId}`);
      return client.createCheckStatusResponse(request, instanceId);
    }),
});

// ---- GET /api/restores/{id}

df.app.client.http(FUNCTION_NAMES.getRestore, {
  methods: ['GET'],
  authLevel: 'function',
  route: 'restores/{id}',
  handler: (request: HttpRequest, client: df.DurableClient, context: InvocationContext): Promise<HttpResponseInit> =>
    answerWithProblems(context, async () => {
      const id = request.params.id ?? '';
      const unknown = (): DeltavaultError => errors.notFound('restore', RESTORE_INSTANCE_ID.test(id) ? id : '(not a restore id)');
      if (!RESTORE_INSTANCE_ID.test(id)) throw unknown();
      let status: df.DurableOrchestrationStatus | undefined;
      try {
        status = await client.getStatus(id);
      } catch (e) {
        if (storageStatus(e) !== undefined && storageStatus(e) !== 404) throw e;
        status = undefined;
      }
      if (!status?.runtimeStatus) throw unknown();
      const progress = (await readRestoreProgress(clients.vaultContainer, id)) ?? { bytesDone: 0, bytesTotal: 0 };
      return {
        status: 200,
        jsonBody: {
          id,
          runtimeStatus: status.runtimeStatus,
          createdTime: status.createdTime,
          lastUpdatedTime: status.lastUpdatedTime,
          input: status.input,
          output: status.output,
          progress: { bytesDone: progress.bytesDone, bytesTotal: progress.bytesTotal },
        },
      };
    }),
});
