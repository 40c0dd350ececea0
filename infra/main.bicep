// deltavault on Azure: `azd up` deploys this at subscription scope. It creates the app's resource
// group (Flex Consumption Function App, its host storage, a user-assigned identity, monitoring),
// the vault storage account in the app's group or in another group or subscription, and the
// identity's role assignments, each on the one resource or resource group it is needed for.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of the app, its storage and (by default) the vault. Flex Consumption must be available there.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Name of the app\'s resource group (default rg-<environment>).')
param resourceGroupName string = ''

@description('DELTAVAULT_CONFIG: the protection config, a file in the deployed app folder (e.g. protection.json) or a blob URL without a SAS.')
@minLength(1)
param protectionConfig string

@description('Resource groups whose managed disks deltavault protects, comma-separated ids (/subscriptions/<id>/resourceGroups/<name>).')
param protectedResourceGroupIds string = ''

@description('Resource groups restores may create new managed disks in, comma-separated ids; they join DELTAVAULT_RESTORE_TARGETS.')
param restoreResourceGroupIds string = ''

@description('Subscription of the vault account (default: this subscription). Its resource group must exist when it is another subscription.')
param vaultSubscriptionId string = ''

@description('Resource group of the vault account (default: the app\'s resource group).')
param vaultResourceGroupName string = ''

@description('Location of the vault account (default: location).')
param vaultLocation string = ''

@description('Redundancy of the vault account.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_RAGRS'])
param vaultSkuName string = 'Standard_GRS'

@description('Days deleted blobs, recovery point snapshots and containers of the vault can be undeleted.')
@minValue(1)
@maxValue(365)
param vaultSoftDeleteDays int = 14

@description('Days of a time-based retention (WORM) policy on the vault container; 0 = none. Read docs/deploy.md first.')
@minValue(0)
param vaultImmutabilityDays int = 0

@description('Grant Data Operator for Managed Disks in protected and restore groups (disks with dataAccessAuthMode AzureActiveDirectory).')
param entraDiskDataAccess bool = false

@description('Node.js major version the app runs on (package.json engines must admit it).')
@allowed(['20', '22'])
param nodeVersion string = '22'

@description('Memory of one Flex Consumption instance, MB.')
@allowed([2048, 4096])
param instanceMemoryMB int = 2048

@description('Most Flex Consumption instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

var functionAppName = '${abbrs.webSitesFunctions}deltavault-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'

// Names deltavault reads (src/config/settings.ts defaults, src/jobs/jobsTable.ts): the test in
// test/unit/infra checks that these are what the code derives and that each one is created.
var vaultContainerName = 'deltavault'
var restoresContainerName = 'restores'
var eventsQueueName = 'deltavault-events'
var poisonQueueName = '${eventsQueueName}-poison'
var jobsTableName = 'deltavaultjobs'

var protectedGroups = filter(map(split(protectedResourceGroupIds, ','), id => trim(id)), id => !empty(id))
var restoreGroups = filter(map(split(restoreResourceGroupIds, ','), id => trim(id)), id => !empty(id))
// DELTAVAULT_RESTORE_TARGETS: the vault's restores container, then each restore resource group.
var restoreContainers = [restoresContainerName]
var restoreTargets = join(concat(restoreContainers, restoreGroups), ',')

var vaultSubscription = empty(vaultSubscriptionId) ? subscription().subscriptionId : vaultSubscriptionId
var vaultGroupName = empty(vaultResourceGroupName) ? rg.name : vaultResourceGroupName
var createVaultGroup = !empty(vaultResourceGroupName) && vaultSubscription == subscription().subscriptionId

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

resource vaultGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (createVaultGroup) {
  name: vaultResourceGroupName
  location: empty(vaultLocation) ? location : vaultLocation
  tags: tags
}

module identity 'core/identity/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}deltavault-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

// Host storage: AzureWebJobsStorage, the Durable task hub and the deployment package. Never the vault.
module hostStorage 'core/storage/storage-account.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}host${resourceToken}'
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    containerNames: [deploymentContainerName]
  }
}

module plan 'core/host/flex-consumption-plan.bicep' = {
  name: 'plan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
  }
}

module vault 'app/vault.bicep' = {
  name: 'vault'
  scope: resourceGroup(vaultSubscription, vaultGroupName)
  dependsOn: [rg, vaultGroup]
  params: {
    name: '${abbrs.storageStorageAccounts}vault${resourceToken}'
    location: empty(vaultLocation) ? location : vaultLocation
    tags: tags
    skuName: vaultSkuName
    vaultContainerName: vaultContainerName
    restoreContainerNames: restoreContainers
    queueNames: [eventsQueueName, poisonQueueName]
    tableNames: [jobsTableName]
    softDeleteDays: vaultSoftDeleteDays
    immutabilityDays: vaultImmutabilityDays
    principalId: identity.outputs.principalId
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    hostStorageName: hostStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: identity.outputs.principalId
  }
}

module diskAccess 'app/disk-access.bicep' = [
  for (groupId, i) in protectedGroups: {
    name: 'disk-access-${i}'
    scope: resourceGroup(split(groupId, '/')[2], split(groupId, '/')[4])
    params: {
      principalId: identity.outputs.principalId
      environmentName: environmentName
      entraDiskDataAccess: entraDiskDataAccess
    }
  }
]

module restoreAccess 'app/restore-access.bicep' = [
  for (groupId, i) in restoreGroups: {
    name: 'restore-access-${i}'
    scope: resourceGroup(split(groupId, '/')[2], split(groupId, '/')[4])
    params: {
      principalId: identity.outputs.principalId
      environmentName: environmentName
      entraDiskDataAccess: entraDiskDataAccess
    }
  }
]

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  // The host must be able to reach its storage and the vault the moment it starts.
  dependsOn: [rbac, vault]
  params: {
    name: functionAppName
    location: location
    tags: tags
    appServicePlanId: plan.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: hostStorage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    vaultBlobEndpoint: vault.outputs.blobEndpoint
    vaultQueueEndpoint: vault.outputs.queueEndpoint
    vaultTableEndpoint: vault.outputs.tableEndpoint
    vaultContainerName: vaultContainerName
    eventsQueueName: eventsQueueName
    restoreTargets: restoreTargets
    protectionConfig: protectionConfig
  }
}

// What azd keeps in .azure/<environment>/.env, and what the README's commands read.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_FUNCTION_NAME string = api.outputs.name
output DELTAVAULT_API_URL string = '${api.outputs.uri}/api'
output DELTAVAULT_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DELTAVAULT_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output DELTAVAULT_VAULT_ACCOUNT string = vault.outputs.name
output DELTAVAULT_VAULT_ID string = vault.outputs.id
output DELTAVAULT_EVENTS_QUEUE_NAME string = eventsQueueName
output DELTAVAULT_JOBS_TABLE string = jobsTableName
