// deltavault's Function App on the Flex Consumption plan: Node.js, running as the user-assigned
// identity, with identity-based connections only. No app setting holds a key, a SAS or a storage
// connection string: each connection is a service URI plus `__credential=managedidentity` and the
// identity's `__clientId`, and Application Insights takes telemetry only with an Entra token.
param name string
param location string = resourceGroup().location
param tags object = {}
@description('The azd service name in azure.yaml this app deploys.')
param serviceName string = 'api'

param appServicePlanId string
@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

@description('Host storage (AzureWebJobsStorage and the Durable task hub): account name.')
param hostStorageName string
param deploymentContainerName string

param applicationInsightsConnectionString string

@description('Node.js major version on Azure (must be admitted by package.json engines).')
@allowed(['20', '22'])
param nodeVersion string = '22'
@allowed([2048, 4096])
param instanceMemoryMB int = 2048
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// deltavault's own settings (src/config/settings.ts), all passed in by main.bicep.
param vaultBlobEndpoint string
param vaultQueueEndpoint string
param vaultTableEndpoint string
param vaultContainerName string
param eventsQueueName string
param restoreTargets string
param protectionConfig string

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlanId
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }

  // Flex Consumption sets the worker runtime and version itself (functionAppConfig.runtime):
  // FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE must not be set.
  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      // The Functions host's own storage: keys, timer schedule monitors and the Durable task hub.
      AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob
      AzureWebJobsStorage__queueServiceUri: hostStorage.properties.primaryEndpoints.queue
      AzureWebJobsStorage__tableServiceUri: hostStorage.properties.primaryEndpoints.table
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId

      // The vault: read by src/config/settings.ts and by the events queue trigger (connection DELTAVAULT_VAULT).
      DELTAVAULT_VAULT__blobServiceUri: vaultBlobEndpoint
      DELTAVAULT_VAULT__queueServiceUri: vaultQueueEndpoint
      DELTAVAULT_VAULT__tableServiceUri: vaultTableEndpoint
      DELTAVAULT_VAULT__credential: 'managedidentity'
      DELTAVAULT_VAULT__clientId: identityClientId
      DELTAVAULT_VAULT_CONTAINER: vaultContainerName
      DELTAVAULT_EVENTS_QUEUE: eventsQueueName
      DELTAVAULT_RESTORE_TARGETS: restoreTargets
      DELTAVAULT_CONFIG: protectionConfig

      // Azure Resource Manager (managed disks, VMs, restores to managed disks): the same user-assigned
      // identity (src/config/settings.ts DELTAVAULT_ARM__*). AZURE_CLIENT_ID lets DefaultAzureCredential
      // pick it too, for any client built without these settings.
      DELTAVAULT_ARM__credential: 'managedidentity'
      DELTAVAULT_ARM__clientId: identityClientId
      AZURE_CLIENT_ID: identityClientId

      // Telemetry with an Entra token (the component has local auth disabled).
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    }
  }
}

output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
