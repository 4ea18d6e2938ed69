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

@description('Resource id of the proxy\'s own custom domain to attach to the route, or empty. With it, a rule set tells the app which host the client asked for (originHostHeader), since every origin receives its own host name.')
param proxyCustomDomainResourceId string = ''

@description('True when proxyCustomDomainResourceId is given (known at deployment start, so What-If stays precise).')
param separateProxy bool = false

@description('Header set by the edge to the host the client asked for (the app\'s Okap__Proxy__OriginHostHeader).')
param originHostHeader string = 'X-Okap-Origin-Host'

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

resource originHostRuleSet 'Microsoft.Cdn/profiles/ruleSets@2024-02-01' = if (separateProxy) {
  parent: profile
  name: 'okaporiginhost'
}

// Overwrites any copy a client sent: the app trusts this header for which origin (page or proxy) was asked for.
resource originHostRule 'Microsoft.Cdn/profiles/ruleSets/rules@2024-02-01' = if (separateProxy) {
  parent: originHostRuleSet
  name: 'forwardclienthost'
  properties: {
    order: 1
    conditions: []
    actions: [
      {
        name: 'ModifyRequestHeader'
        parameters: {
          typeName: 'DeliveryRuleHeaderActionParameters'
          headerAction: 'Overwrite'
          headerName: originHostHeader
          value: '{hostname}'
        }
      }
    ]
    matchProcessingBehavior: 'Continue'
  }
}

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: profile::endpoint
  name: 'okap-vault'
  dependsOn: [
    origins // a route needs at least one origin in its group
    originHostRule
  ]
  properties: {
    originGroup: {
      id: originGroup.id
    }
    customDomains: concat(
      empty(customDomainResourceId) ? [] : [{ id: customDomainResourceId }],
      separateProxy ? [{ id: proxyCustomDomainResourceId }] : []
    )
    ruleSets: separateProxy ? [{ id: originHostRuleSet.id }] : []
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
