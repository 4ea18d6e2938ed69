#!/usr/bin/env bash
# The test command: installs what the tests need (Node packages for Azurite, Debian's chromium for the browser
# tests), builds everything, compiles the Azure Functions app when the local worker feed exists, runs every test
# project and prints one closing line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { printf '\n== %s\n' "$*"; }

step "Node packages for the Azurite test fixture"
if command -v npm >/dev/null 2>&1; then
  if [ -f tests/azurite/package-lock.json ] && [ ! -x tests/azurite/node_modules/.bin/azurite-table ]; then
    (cd tests/azurite && npm ci --no-audit --no-fund --loglevel=error)
  fi
else
  echo "npm not found: the Azurite tests will fail" >&2
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

step "Build"
dotnet build Okap.Tests.slnf -c Release -warnaserror -nologo -v:q

step "Azure Functions app"
feed="$root/../shared/functions-feed"
if [ -d "$feed" ] && [ -d src/Okap.Functions ]; then
  feed=$(cd "$feed" && pwd)
  dotnet build src/Okap.Functions -c Release -nologo -v:q -p:RestoreAdditionalProjectSources="$feed"
  export OKAP_FUNCTIONS_METADATA="$root/src/Okap.Functions/bin/Release/net10.0/functions.metadata"
else
  echo "SKIPPED: src/Okap.Functions was not compiled: the Azure Functions worker packages are not on this machine's NuGet source (../shared/functions-feed is absent)."
fi

step "Tests"
passed=0; failed=0; skipped=0; status=0
# Each test project once; the HTTP behaviour suite (and the page) a second time on Azurite + the Key Vault fake.
runs=$(find tests -name '*.csproj' -not -path '*/node_modules/*' -not -path '*/obj/*' -not -path '*/bin/*' -not -name 'Okap.Testing.csproj' | sort | sed 's/$/:sqlite/')
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
