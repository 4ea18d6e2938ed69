metadata description = 'Flex Consumption (FC1) hosting plan for one OKAP Vault function app.'

@description('Name of the hosting plan.')
param name string

@description('Azure region of the plan (must offer Flex Consumption).')
param location string

@description('Tags applied to the plan.')
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

@description('Resource id of the plan.')
output resourceId string = plan.id

@description('Name of the plan.')
output name string = plan.name
