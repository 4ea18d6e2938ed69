metadata description = 'Shared user-defined type for role assignments passed to resource modules (Azure Verified Modules style).'

@export()
@description('A role assignment to create on the resource deployed by a module.')
type roleAssignmentType = {
  @description('Role definition GUID (for example 0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3 for Storage Table Data Contributor).')
  roleDefinitionId: string

  @description('Object id of the principal that receives the role.')
  principalId: string

  @description('Type of the principal.')
  principalType: ('ServicePrincipal' | 'User' | 'Group')?

  @description('Optional description stored on the role assignment.')
  description: string?
}
