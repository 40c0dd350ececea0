/**
 * How deltavault reaches Azure Resource Manager: a credential, the ARM endpoint and client
 * options, injectable so tests point the real `@azure/arm-compute` client at the ARM test server
 * (test/support/armServer). In Azure the credential is the Function App's managed identity
 * (ManagedIdentityCredential with the user-assigned identity's client id) or
 * DefaultAzureCredential, and the endpoint https://management.azure.com.
 */
import { ComputeManagementClient, type ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

export interface ArmAccess {
  credential: TokenCredential;
  /** `https://management.azure.com` unless told otherwise. */
  endpoint: string;
  /** Extra client options (TLS trust for a test server, retry and polling tuning). */
  clientOptions?: ComputeManagementClientOptionalParams;
}

/** A Compute client for one subscription. */
export function computeClient(access: ArmAccess, subscriptionId: string): ComputeManagementClient {
  return new ComputeManagementClient(access.credential, subscriptionId, { ...access.clientOptions, endpoint: access.endpoint });
}
