/**
 * The durableClient input binding value and the management URLs it carries, as the Durable
 * extension builds them (BindingHelper.DurableOrchestrationClientToString, HttpApiHandler.
 * GetInstanceCreationLinks / GetClientResponseLinks). `durable-functions`' DurableClient calls
 * the API under `rpcBaseUrl` and fills the `managementUrls` templates for
 * createCheckStatusResponse. Locally there is no system key, so no `code` query parameter. Pure.
 */

export const WEBHOOK_PATH = '/runtime/webhooks/durabletask';
/** Placeholder the `managementUrls` carry for the instance id (BindingHelper.InstanceIdPlaceholder). */
export const INSTANCE_ID_PLACEHOLDER = 'INSTANCEID';
/** The connection name in status URLs (the extension's default for Azure Storage). */
export const DEFAULT_CONNECTION_NAME = 'Storage';

export interface HttpManagementPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  rewindPostUri: string;
  purgeHistoryDeleteUri: string;
  restartPostUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

export interface OrchestrationClientInputData {
  taskHubName: string;
  creationUrls: { createNewInstancePostUri: string; createAndWaitOnNewInstancePostUri: string };
  managementUrls: HttpManagementPayload;
  baseUrl: string;
  requiredQueryStringParameters: string;
  rpcBaseUrl: string;
  httpBaseUrl: string;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Status and control URLs of one instance (`instanceId` as given; a placeholder in the binding). */
export function managementPayload(
  baseUrl: string,
  instanceId: string,
  taskHubName: string,
  connectionName = DEFAULT_CONNECTION_NAME,
): HttpManagementPayload {
  const instancePrefix = `${trimSlash(baseUrl)}${WEBHOOK_PATH}/instances/${encodeURIComponent(instanceId)}`;
  const query = `taskHub=${encodeURIComponent(taskHubName)}&connection=${encodeURIComponent(connectionName)}`;
  return {
    id: instanceId,
    statusQueryGetUri: `${instancePrefix}?${query}`,
    sendEventPostUri: `${instancePrefix}/raiseEvent/{eventName}?${query}`,
    terminatePostUri: `${instancePrefix}/terminate?reason={text}&${query}`,
    rewindPostUri: `${instancePrefix}/rewind?reason={text}&${query}`,
    purgeHistoryDeleteUri: `${instancePrefix}?${query}`,
    restartPostUri: `${instancePrefix}/restart?${query}`,
    suspendPostUri: `${instancePrefix}/suspend?reason={text}&${query}`,
    resumePostUri: `${instancePrefix}/resume?reason={text}&${query}`,
  };
}

export function clientInputData(baseUrl: string, taskHubName: string): OrchestrationClientInputData {
  const webhookBase = `${trimSlash(baseUrl)}${WEBHOOK_PATH}`;
  const instancePrefix = `${webhookBase}/orchestrators/{functionName}[/{instanceId}]`;
  return {
    taskHubName,
    creationUrls: {
      createNewInstancePostUri: `${instancePrefix}?`,
      createAndWaitOnNewInstancePostUri: `${instancePrefix}?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&`,
    },
    managementUrls: managementPayload(baseUrl, INSTANCE_ID_PLACEHOLDER, taskHubName),
    baseUrl: webhookBase,
    requiredQueryStringParameters: '',
    rpcBaseUrl: `${webhookBase}/`,
    httpBaseUrl: webhookBase,
  };
}
