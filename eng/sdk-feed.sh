#!/usr/bin/env bash
# Builds Microsoft's Azure IoT SDKs for C# from the unchanged upstream source kept beside the project (../shared/vendor:
# azure-iot-sdk-csharp, and DotNetty for DotNetty.Codecs.Mqtt 0.7.6, which the package feed here does not serve) into a
# local package feed for the real-SDK tests, and prints the feed's directory. Nothing is written into the repository:
# the sources are copied to a cache directory keyed by the hash of every input (sources, this script, the .NET SDK
# version), so a second run with the same inputs prints the cached feed at once. A fresh build takes minutes.
#
#   eng/sdk-feed.sh                 print the feed directory (build it first if needed)
#   EDGE_SDK_VENDOR=dir             where the vendored sources are (default: ../shared/vendor beside the repository)
#   EDGE_SDK_CACHE=dir              cache root (default: ${XDG_CACHE_HOME:-~/.cache}/edge-sdk)
#
# Exit codes: 0 the feed is ready (its path on stdout); 3 the vendored sources are absent (callers skip the real-SDK
# tests); 1 the build failed (the log's path is on stderr).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="${EDGE_SDK_VENDOR:-$root/../shared/vendor}"
sdk_dir=azure-iot-sdk-csharp-6097889d
netty_dir=dotnetty-78c5757
if [ ! -d "$vendor/$sdk_dir" ] || [ ! -d "$vendor/$netty_dir" ]; then
  echo "sdk-feed: no vendored SDK source in $vendor ($sdk_dir, $netty_dir); the real-SDK tests are skipped" >&2
  exit 3
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

hash="$( { (cd "$vendor" && find "$sdk_dir" "$netty_dir" -type f -print0 | sort -z | xargs -0 sha256sum); sha256sum "$0"; dotnet --version; } | sha256sum | cut -c1-16)"
cache="${EDGE_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-sdk}/$hash"
feed="$cache/feed"
if [ -f "$cache/done" ]; then
  echo "$feed"
  exit 0
fi

rm -rf "$cache"
mkdir -p "$cache/src" "$feed"
log="$cache/build.log"
cp -r "$vendor/$sdk_dir" "$cache/src/sdk"
cp -r "$vendor/$netty_dir" "$cache/src/dotnetty"
fail() { echo "sdk-feed: $1 failed; see $log" >&2; exit 1; }

# DotNetty.Codecs.Mqtt 0.7.6: same assembly name, version and strong-name key, built against the served sibling packages
# (the upstream project references their source, which is not vendored).
mqtt="$cache/src/dotnetty/src/DotNetty.Codecs.Mqtt/DotNetty.Codecs.Mqtt.csproj"
sed -i -E 's#<ProjectReference Include="\.\.\\(DotNetty\.[A-Za-z]+)\\[^"]*" />#<PackageReference Include="\1" Version="0.7.6" />#' "$mqtt"
grep -q ProjectReference "$mqtt" && fail "rewriting DotNetty.Codecs.Mqtt's references"
echo "== DotNetty.Codecs.Mqtt" >>"$log"
dotnet pack "$mqtt" -c Release -p:TargetFrameworks=netstandard2.0 -o "$feed" >>"$log" 2>&1 || fail "building DotNetty.Codecs.Mqtt"

# The shared library, the device and the service client. Microsoft.Azure.Amqp 2.6.9 is not served: NuGet takes the next version and warns NU1603,
# which the SDK's warnings-as-errors would turn into an error.
# Microsoft.Azure.Devices.Shared is not served either: the clients' packages depend on it.
for project in shared/src/Microsoft.Azure.Devices.Shared.csproj iothub/device/src/Microsoft.Azure.Devices.Client.csproj iothub/service/src/Microsoft.Azure.Devices.csproj; do
  echo "== $project" >>"$log"
  dotnet pack "$cache/src/sdk/$project" -c Release -p:WarningsNotAsErrors=NU1603 \
    -p:RestoreAdditionalProjectSources="$feed" -o "$feed" >>"$log" 2>&1 || fail "building $(basename "$project" .csproj)"
done

touch "$cache/done"
echo "$feed"
