// The vault: the storage account deltavault keeps recovery points in, separate from the Function
// App's host storage (so that nothing with access to the app's runtime state can touch backups,
// and the vault can live in another resource group or subscription). Deployed at the vault's own
// scope by main.bicep.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Redundancy of the vault account (page blobs: LRS, ZRS, GRS or RA-GRS).')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_RAGRS'])
param skuName string = 'Standard_GRS'

@description('The vault container (DELTAVAULT_VAULT_CONTAINER).')
param vaultContainerName string
@description('Containers restores may write to (the bare container names of DELTAVAULT_RESTORE_TARGETS).')
param restoreContainerNames array = []
@description('The job-events queue (DELTAVAULT_EVENTS_QUEUE) and its poison queue.')
param queueNames array
@description('The job-history table(s) the events consumer keeps.')
param tableNames array

@description('Days a deleted blob, snapshot (recovery point) or container can be undeleted.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Days of a time-based retention (WORM) policy on the vault container; 0 = none. See docs/deploy.md: the vault format updates the base blob in place, so this freezes the vault.')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0

@description('Principal id of the Function App\'s user-assigned identity.')
param principalId string

var roles = loadJsonContent('../core/security/builtin-roles.json')

module account '../core/storage/storage-account.bicep' = {
  name: 'vault-account'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    containerNames: concat([vaultContainerName], restoreContainerNames)
    queueNames: queueNames
    tableNames: tableNames
    blobSoftDeleteDays: softDeleteDays
    containerSoftDeleteDays: softDeleteDays
  }
}

resource vault 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: name
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: vault
  name: 'default'
}

resource vaultContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: vaultContainerName
}

// Left unlocked on purpose: a locked policy can never be shortened or removed, and with today's
// vault format (base page blob written in place, chain head rewritten, expired points deleted) it
// stops every further backup and prune until it expires.
resource worm 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityDays > 0) {
  parent: vaultContainer
  name: 'default'
  dependsOn: [account]
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

// Storage Blob Data Contributor on the vault account: the engine writes and clears pages of the
// base blobs, snapshots them (a snapshot is a recovery point), takes the per-disk write lease,
// writes manifests and job documents, deletes expired snapshots and manifests when pruning, reads
// a blob protection config, and creates the restore target containers (createIfNotExists needs
// account-level container write). No Owner: deltavault never sets POSIX ACLs.
resource blobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.storageBlobDataContributor.id)
  scope: vault
  dependsOn: [account]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor on the vault account: activities send job events (and create the
// queue if it is missing), the queue trigger reads and deletes them, and the Functions host moves
// a message it cannot process to <queue>-poison (creating that queue if needed). Sender plus
// Message Processor would not allow the create.
resource queueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.storageQueueDataContributor.id)
  scope: vault
  dependsOn: [account]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor on the vault account: the events consumer creates the job-history
// table if it is missing and writes one job row plus one row per applied event in a transaction;
// GET /api/jobs queries it.
resource tableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.storageTableDataContributor.id)
  scope: vault
  dependsOn: [account]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output id string = vault.id
output name string = vault.name
output blobEndpoint string = account.outputs.blobEndpoint
output queueEndpoint string = account.outputs.queueEndpoint
output tableEndpoint string = account.outputs.tableEndpoint
