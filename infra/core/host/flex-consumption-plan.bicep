// The Flex Consumption plan (FC1) the Function App runs on: Linux, scale to zero, per-instance
// memory chosen on the app (functionAppConfig.scaleAndConcurrency).
param name string
param location string = resourceGroup().location
param tags object = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

output id string = plan.id
output name string = plan.name
