#!/usr/bin/env bash
# Runs a module image in the foreground as if it were the module's process, for the simulator's supervisor
# (`edge up --images`, the end-to-end tests with EDGE_E2E_IMAGES=1, `edge images test`):
#
#   eng/images/container-run.sh <image> [<container name>]
#
# - host network (the simulator listens on loopback);
# - the environment the supervisor gives the module (EdgeHubConnectionString, EdgeModuleCACertificateFile, StateDirectory,
#   the deployment's env) is passed on, less this machine's own variables (PATH, HOME, DOTNET_*, ...);
# - files and folders those variables name (the CA file, file:// sources and model URLs, the state folder) are mounted
#   at the same path; the state folder and FRAME_STORE writable and owned by the image's user (1654);
# - SIGTERM/SIGINT are passed to the module (podman/docker run --sig-proxy) and its exit code is this script's;
# - a container left over from a killed run of the same name is removed first (SIGKILL of this script cannot stop it).
# The engine: docker if `docker info` works, else podman (run as the sandbox here needs: runc, cgroupfs, ulimits).
set -euo pipefail
IMAGE="${1:?usage: eng/images/container-run.sh <image> [<container name>]}"
NAME="${2:-edge-$(basename "${StateDirectory:-module}")-$(echo "${StateDirectory:-}" | cksum | cut -d" " -f1)}"
NAME="$(echo "$NAME" | tr -c 'a-zA-Z0-9_.\n-' '-')"
if [ -n "${EDGE_CONTAINER_ENGINE:-}" ]; then engine=("$EDGE_CONTAINER_ENGINE")
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=(docker)
else engine=(podman --runtime runc --cgroup-manager cgroupfs); fi
run=("${engine[@]}" run --rm --name "$NAME" --network host --sig-proxy=true)
[ "${engine[0]}" = docker ] || run+=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
"${engine[@]}" rm -f "$NAME" >/dev/null 2>&1 || true

declare -A mounted=()
mount_path() { # path mode
  local p="$1" mode="$2"
  [ -e "$p" ] || return 0
  [ -z "${mounted[$p]:-}" ] || return 0
  mounted[$p]=1
  if [ "$mode" = own ] && [ "${engine[0]}" != docker ]; then run+=(-v "$p:$p:U"); 
  elif [ "$mode" = own ]; then chown -R 1654:1654 "$p" 2>/dev/null || true; run+=(-v "$p:$p"); 
  else run+=(-v "$p:$p:ro"); fi
}
[ -z "${StateDirectory:-}" ] || { mkdir -p "$StateDirectory"; mount_path "$StateDirectory" own; }
[ -z "${FRAME_STORE:-}" ] || { mkdir -p "$FRAME_STORE"; mount_path "$FRAME_STORE" own; }
while IFS= read -r -d '' kv; do
  name="${kv%%=*}" value="${kv#*=}"
  case "$name" in
    PATH|HOME|PWD|OLDPWD|SHLVL|HOSTNAME|TERM|USER|LOGNAME|SHELL|_|TMPDIR|TMP|TEMP|LANG|LANGUAGE|MAIL|EDGE_CONTAINER_ENGINE) continue ;;
    LC_*|LD_*|DOTNET_*|COMPlus_*|MSBuild*|MSBUILD*|NUGET_*|XDG_*|SSH_*|VSTEST*|TESTINGPLATFORM*|EDGE_E2E*|CI|BUILD_*|AGENT_*|SYSTEM_*) continue ;;
    *[!a-zA-Z0-9_]*) continue ;;
  esac
  run+=(-e "$name")
  p="${value#file://}"
  case "$p" in /*/*) [ -e "$p" ] && mount_path "$p" ro ;; esac
done < <(env -0)
exec "${run[@]}" "$IMAGE"
