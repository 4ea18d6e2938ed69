metadata description = 'Workspace-based Application Insights with local (instrumentation key) authentication disabled: telemetry is accepted only from Microsoft Entra identities (the app uses its managed identity).'

import { roleAssignmentType } from 'role-assignment-type.bicep'

@description('Name of the Application Insights component.')
param name string

@description('Azure region of the component.')
param location string

@description('Tags applied to the component.')
param tags object = {}

@description('Resource id of the Log Analytics workspace that stores the telemetry.')
param workspaceResourceId string

@description('Role assignments to create on the component (Monitoring Metrics Publisher for the app identity).')
param roleAssignments roleAssignmentType[] = []

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceResourceId
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource appInsightsRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in roleAssignments: {
    name: guid(appInsights.id, assignment.principalId, assignment.roleDefinitionId)
    scope: appInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.roleDefinitionId)
      principalId: assignment.principalId
      principalType: assignment.?principalType ?? 'ServicePrincipal'
      description: assignment.?description ?? ''
    }
  }
]

@description('Resource id of the component.')
output resourceId string = appInsights.id

@description('Name of the component. The function app module reads its (non-secret) connection settings itself, so none are output here.')
output name string = appInsights.name
