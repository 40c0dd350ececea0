/**
 * The Azure Storage clients deltavault works with, built from the validated settings: the vault
 * account's blob service and vault container, its queue service and the job-events queue. A
 * connection string goes straight to the SDK; the identity-based form uses
 * ManagedIdentityCredential (`__credential=managedidentity`) or DefaultAzureCredential, with the
 * user-assigned identity's `__clientId` when given.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { appSettings, type IdentityVault, type Settings } from './settings';

export interface StorageClients {
  blobService: BlobServiceClient;
  /** The container named by DELTAVAULT_VAULT_CONTAINER. */
  vaultContainer: ContainerClient;
  queueService: QueueServiceClient;
  /** The queue named by DELTAVAULT_EVENTS_QUEUE. */
  eventsQueue: QueueClient;
}

/** The credential of an identity-based connection. */
export function identityCredential(vault: IdentityVault): TokenCredential {
  if (vault.credential === 'managedidentity') {
    return vault.clientId ? new ManagedIdentityCredential({ clientId: vault.clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(vault.clientId ? { managedIdentityClientId: vault.clientId } : {});
}

/** Builds the clients; no request is made until one is used. */
export function createStorageClients(settings: Settings): StorageClients {
  const { vault } = settings;
  let blobService: BlobServiceClient;
  let queueService: QueueServiceClient;
  if (vault.kind === 'connectionString') {
    blobService = BlobServiceClient.fromConnectionString(vault.connectionString.reveal());
    queueService = QueueServiceClient.fromConnectionString(vault.connectionString.reveal());
  } else {
    const credential = identityCredential(vault);
    blobService = new BlobServiceClient(vault.blobServiceUrl, credential);
    queueService = new QueueServiceClient(vault.queueServiceUrl, credential);
  }
  return {
    blobService,
    vaultContainer: blobService.getContainerClient(settings.vaultContainer),
    queueService,
    eventsQueue: queueService.getQueueClient(settings.eventsQueue),
  };
}

let clients: StorageClients | undefined;

/** The app's clients, built once from `appSettings()`. */
export function appStorageClients(): StorageClients {
  clients ??= createStorageClients(appSettings());
  return clients;
}
