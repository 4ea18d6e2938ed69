#!/usr/bin/env bash
# The test command: installs what the tests need (Node packages for Azurite and the npm SDK clients, Debian's chromium for the browser
# tests, jq for the Functions host script), builds everything with warnings as errors (the Azure Functions app
# included), runs every test project (tests/Okap.Functions.Tests runs the behaviour suite under the real Functions
# host: `func` on PATH, else ../shared/functions-host/func-start.sh, else those tests report skipped with the reason)
# and prints one closing line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { printf '\n== %s\n' "$*"; }

step "Node packages: Azurite (test fixture) and the official npm openai / @anthropic-ai/sdk clients (refusal tests)"
if command -v npm >/dev/null 2>&1; then
  if [ -f tests/azurite/package-lock.json ] && [ ! -x tests/azurite/node_modules/.bin/azurite-table ]; then
    (cd tests/azurite && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ -f tests/sdk-clients/package-lock.json ] && [ ! -f tests/sdk-clients/node_modules/openai/package.json ]; then
    (cd tests/sdk-clients && npm ci --no-audit --no-fund --loglevel=error)
  fi
else
  echo "npm not found: the Azurite and npm SDK tests will fail" >&2
fi

step "Chromium for the browser tests"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium" >&2
  else
    echo "chromium missing and not root: install it with 'sudo apt-get install chromium'" >&2
  fi
fi
command -v chromium >/dev/null 2>&1 && export OKAP_CHROMIUM="$(command -v chromium)"

step "jq for the Functions host script (../shared/functions-host/func-start.sh reads local.settings.json with it)"
if ! command -v jq >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null) || echo "could not install jq" >&2
  else
    echo "jq missing and not root: install it with 'sudo apt-get install jq'" >&2
  fi
fi

step "Build"
dotnet build Okap.Tests.slnf -c Release -warnaserror -nologo -v:q

export OKAP_FUNCTIONS_METADATA="$root/src/Okap.Functions/bin/Release/net10.0/functions.metadata"

step "Tests"
passed=0; failed=0; skipped=0; status=0
# Each test project once; the HTTP behaviour suite (and the page) a second time on Azurite + the Key Vault fake.
# The third host of the behaviour suite, the Functions app under the real Functions host (Azurite, the Data Protection
# secret store), is tests/Okap.Functions.Tests/UnderHost: it starts the hosts once for its whole run.
runs=$(find tests -name '*.csproj' -not -path '*/node_modules/*' -not -path '*/obj/*' -not -path '*/bin/*' -not -name 'Okap.Testing*.csproj' | sort | sed 's/$/:sqlite/')
runs="$runs tests/Okap.Server.Tests/Okap.Server.Tests.csproj:azure tests/Okap.Web.Tests/Okap.Web.Tests.csproj:azure"
for run in $runs; do
  project=${run%%:*}; store=${run##*:}
  [ -f "$project" ] || continue
  echo "-- $project ($store store)"
  log=$(mktemp)
  if ! OKAP_TEST_STORE=$store dotnet test "$project" -c Release --no-build -nologo 2>&1 | tee "$log"; then status=1; fi
  line=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -1 || true)
  if [ -n "$line" ]; then
    f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line"); p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line"); s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  else
    echo "no test summary from $project" >&2; status=1
  fi
  rm -f "$log"
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
