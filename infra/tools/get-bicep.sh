#!/usr/bin/env bash
# Prints the path of a bicep CLI executable, fetching it from NuGet if needed.
#
# The bicep CLI ships as a native binary inside the NuGet package
# Azure.Bicep.CommandLine.linux-x64, so the only network access needed is NuGet.
# Honours BICEP_PATH if it points at an executable.
#
# Usage:  BICEP=$(infra/tools/get-bicep.sh) && "$BICEP" build infra/main.bicep
set -euo pipefail

version="0.49.2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${BICEP_PATH:-}" && -x "${BICEP_PATH}" ]]; then
  echo "${BICEP_PATH}"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64)  rid="linux-x64" ;;
  Linux-aarch64) rid="linux-arm64" ;;
  Darwin-x86_64) rid="osx-x64" ;;
  Darwin-arm64)  rid="osx-arm64" ;;
  *) echo "get-bicep.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
bin="${packages}/azure.bicep.commandline.${rid}/${version}/tools/bicep"

if [[ ! -f "${bin}" ]]; then
  dotnet restore "${here}/bicep-tool.csproj" -p:BicepRid="${rid}" -p:BicepVersion="${version}" --nologo -v quiet >&2
fi
if [[ ! -f "${bin}" ]]; then
  echo "get-bicep.sh: bicep not found at ${bin} after restore" >&2
  exit 1
fi
[[ -x "${bin}" ]] || chmod +x "${bin}"
echo "${bin}"
