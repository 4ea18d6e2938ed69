metadata description = 'Front Door origin group (readiness probe on /okap/ready: an origin whose store or Key Vault does not answer gets no traffic), one origin per OKAP Vault function app, and a catch-all HTTPS-only route with caching disabled.'

@description('Name of the existing Front Door profile.')
param profileName string

@description('Name of the existing Front Door endpoint.')
param endpointName string

@description('Host names of the function apps that serve as origins (one per region).')
@minLength(1)
param originHostNames string[]

@description('Resource id of the custom domain to attach to the route, or empty.')
param customDomainResourceId string = ''

@description('Path of the health probe sent to each origin.')
param healthProbePath string = '/okap/ready'

@description('HTTP method of the health probe.')
@allowed([
  'GET'
  'HEAD'
])
param healthProbeRequestType string = 'GET'

@description('Seconds between health probes.')
@minValue(5)
@maxValue(255)
param healthProbeIntervalInSeconds int = 60

resource profile 'Microsoft.Cdn/profiles@2024-02-01' existing = {
  name: profileName

  resource endpoint 'afdEndpoints' existing = {
    name: endpointName
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: profile
  name: 'okap-vault'
  properties: {
    sessionAffinityState: 'Disabled'
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    healthProbeSettings: {
      probePath: healthProbePath
      probeRequestType: healthProbeRequestType
      probeProtocol: 'Https'
      probeIntervalInSeconds: healthProbeIntervalInSeconds
    }
  }
}

resource origins 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = [
  for (hostName, i) in originHostNames: {
    parent: originGroup
    name: 'app-${i}'
    properties: {
      hostName: hostName
      originHostHeader: hostName
      httpPort: 80
      httpsPort: 443
      priority: 1
      weight: 1000
      enabledState: 'Enabled'
      enforceCertificateNameCheck: true
    }
  }
]

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: profile::endpoint
  name: 'okap-vault'
  dependsOn: [
    origins // a route needs at least one origin in its group
  ]
  properties: {
    originGroup: {
      id: originGroup.id
    }
    customDomains: empty(customDomainResourceId)
      ? []
      : [
          {
            id: customDomainResourceId
          }
        ]
    supportedProtocols: [
      'Http'
      'Https'
    ]
    patternsToMatch: [
      '/*'
    ]
    forwardingProtocol: 'HttpsOnly'
    httpsRedirect: 'Enabled'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    // No cacheConfiguration: caching is disabled, every request reaches the vault.
  }
}

@description('Name of the origin group.')
output originGroupName string = originGroup.name
