#!/usr/bin/env bash
# Runs tests/Sdk.Tests: a module on Microsoft's real Azure IoT device SDK against the simulator over MQTT. Builds the SDK
# into a local feed first (eng/sdk-feed.sh, cached). The SDK dials port 8883 unconditionally, so the tests run in a
# private network namespace (unshare --net, as root) where 8883 is free whatever else runs on the machine.
# Exit codes: 0 passed, or skipped because the vendored SDK source is absent; 1 failed; 2 not root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rc=0
feed="$(eng/sdk-feed.sh)" || rc=$?
if [ "$rc" -eq 3 ]; then
  echo "sdk-test: skipped (no vendored SDK source)" >&2
  exit 0
fi
[ "$rc" -eq 0 ] || exit 1
if [ "$(id -u)" != 0 ]; then
  echo "sdk-test: needs root for a private network namespace (unshare --net); run it as root or in CI" >&2
  exit 2
fi

dotnet build tests/Sdk.Tests/Sdk.Tests.csproj -c Release -p:EdgeSdkFeed="$feed" -v quiet -nologo
unshare --net sh -c 'ip link set lo up && dotnet test --project tests/Sdk.Tests/Sdk.Tests.csproj -c Release --no-build'
