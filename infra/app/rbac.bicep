// What the Function App's identity needs in the app's own resource group: its host storage account
// and its Application Insights component. Everything is scoped to the one resource it is for.
param hostStorageName string
param applicationInsightsName string
@description('Principal id of the Function App\'s user-assigned identity.')
param principalId string

var roles = loadJsonContent('../core/security/builtin-roles.json')

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Storage Blob Data Owner on the host storage account, the role the Functions documentation names
// for an identity-based AzureWebJobsStorage: the host keeps its keys and timer schedule monitors
// there and takes blob leases (singleton timers, Durable partition ownership), Durable keeps large
// messages there, and Flex Consumption fetches the deployment package from its container. The
// account holds nothing but this app's runtime state; the vault is elsewhere.
resource hostBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, principalId, roles.storageBlobDataOwner.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor on the host storage account: the Durable task hub's control and
// work-item queues, which the Durable extension creates and reads.
resource hostQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, principalId, roles.storageQueueDataContributor.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor on the host storage account: the Durable task hub's instances and
// history tables, and the host's diagnostic events table.
resource hostTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, principalId, roles.storageTableDataContributor.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Monitoring Metrics Publisher on the Application Insights component: with local auth disabled,
// telemetry is accepted only from an identity holding this role (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher.id)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
