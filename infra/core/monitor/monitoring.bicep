// Log Analytics and a workspace-based Application Insights component that accepts telemetry only
// from Microsoft Entra identities (disableLocalAuth): the instrumentation key in the connection
// string identifies the component but cannot write to it on its own.
param logAnalyticsName string
param applicationInsightsName string
param location string = resourceGroup().location
param tags object = {}
@minValue(30)
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
output applicationInsightsId string = applicationInsights.id
output connectionString string = applicationInsights.properties.ConnectionString
output logAnalyticsName string = logAnalytics.name
