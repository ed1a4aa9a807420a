#!/usr/bin/env bash
# Assembles the final-stage file tree of a module image: only what the module runs.
#
#   eng/images/rootfs.sh --arch x64|arm64 --publish <dotnet publish folder> --exe <name> --out <folder>
#
# <out>/base    the C runtime and every shared library the executable and its native libraries load, found by walking
#               DT_NEEDED (readelf) from the real binaries plus the libraries .NET opens with dlopen (OpenSSL for the
#               module's MQTT/TLS and HTTPS: not in any DT_NEEDED); CA certificates; /etc/passwd and /etc/group with the
#               non-root user app (1654); nsswitch.conf; an empty /tmp.
# <out>/native  the native libraries published beside the executable (libOpenCvSharpExtern.so, libonnxruntime.so).
# <out>/app     the Native AOT executable (and its appsettings.json, if any).
# Three folders so the image has three layers that change at different rates. No shell, no package manager: nothing is
# copied that is not loaded. Runs on the machine (or build stage) whose libraries the image gets; for arm64 on an x64
# machine the cross libraries (/usr/aarch64-linux-gnu, the :arm64 multiarch packages) are used.
set -euo pipefail
ARCH=x64 PUBLISH="" EXE="" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="$2"; shift 2 ;;
    --publish) PUBLISH="$2"; shift 2 ;;
    --exe) EXE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eng/images/rootfs.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$PUBLISH" ] && [ -n "$EXE" ] && [ -n "$OUT" ] && [ -x "$PUBLISH/$EXE" ] \
  || { echo "eng/images/rootfs.sh: need --publish <folder with the executable> --exe <name> --out <folder>" >&2; exit 2; }
case "$ARCH" in
  x64|amd64) TRIPLET=x86_64-linux-gnu; READELF=readelf; SEARCH="/lib/$TRIPLET /usr/lib/$TRIPLET /lib64" ;;
  arm64|arm64v8|aarch64) TRIPLET=aarch64-linux-gnu; READELF=aarch64-linux-gnu-readelf
    SEARCH="/usr/aarch64-linux-gnu/lib /lib/$TRIPLET /usr/lib/$TRIPLET" ;;
  *) echo "eng/images/rootfs.sh: --arch must be x64 or arm64" >&2; exit 2 ;;
esac
command -v "$READELF" >/dev/null || READELF=readelf
# Opened with dlopen by the .NET runtime (System.Security.Cryptography.Native): the TLS connection to edgeHub needs them.
DLOPENED="libssl.so.3"

rm -rf "$OUT"; mkdir -p "$OUT/base/etc/ssl/certs" "$OUT/base/tmp" "$OUT/native/app" "$OUT/app/app/state" "$OUT/app/app/frames"
chmod 1777 "$OUT/base/tmp"

find_lib() { # soname -> path on this machine
  local d; for d in $SEARCH; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done; return 1
}
needed() { "$READELF" -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
interp() { "$READELF" -l "$1" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'; }

declare -A seen=()
queue=()
for f in "$PUBLISH/$EXE" "$PUBLISH"/*.so; do
  [ -f "$f" ] || continue
  case "$f" in *.so) cp -L "$f" "$OUT/native/app/" ;; esac
  while read -r n; do [ -n "$n" ] && queue+=("$n"); done < <(needed "$f")
done
for n in $DLOPENED; do queue+=("$n"); done
ld="$(interp "$PUBLISH/$EXE")"
[ -n "$ld" ] || { echo "eng/images/rootfs.sh: $EXE has no ELF interpreter (not a native executable?)" >&2; exit 1; }
src="$(find_lib "$(basename "$ld")")" || { echo "eng/images/rootfs.sh: interpreter $ld not found in $SEARCH" >&2; exit 1; }
mkdir -p "$OUT/base$(dirname "$ld")"; cp -L "$src" "$OUT/base$ld"; seen[$(basename "$ld")]=1
while [ ${#queue[@]} -gt 0 ]; do
  n="${queue[0]}"; queue=("${queue[@]:1}")
  [ -z "${seen[$n]:-}" ] || continue
  seen[$n]=1
  [ -e "$PUBLISH/$n" ] && continue # shipped beside the executable
  p="$(find_lib "$n")" || { echo "eng/images/rootfs.sh: $n (needed by the module) not found in $SEARCH; install it (for arm64: the :arm64 package)" >&2; exit 1; }
  mkdir -p "$OUT/base/lib/$TRIPLET"; cp -L "$p" "$OUT/base/lib/$TRIPLET/$n"
  while read -r m; do [ -n "$m" ] && queue+=("$m"); done < <(needed "$p")
done
# The loader's built-in path is /lib/<triplet> and /usr/lib/<triplet>; there is no ld.so.cache in the image.
for f in "$PUBLISH/$EXE" "$PUBLISH"/*.json; do [ -f "$f" ] && cp "$f" "$OUT/app/app/"; done
rm -f "$OUT"/app/app/*.deps.json "$OUT"/app/app/*.runtimeconfig.json
cp -L /etc/ssl/certs/ca-certificates.crt "$OUT/base/etc/ssl/certs/" \
  || { echo "eng/images/rootfs.sh: /etc/ssl/certs/ca-certificates.crt missing: apt-get install ca-certificates" >&2; exit 1; }
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1654:1654:app:/app:/sbin/nologin\n' > "$OUT/base/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$OUT/base/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$OUT/base/etc/nsswitch.conf"
echo "rootfs for $EXE ($ARCH): $(du -sb "$OUT/base" | cut -f1) bytes base ($(find "$OUT/base/lib" -type f | wc -l) libraries), $(du -sb "$OUT/native" | cut -f1) native, $(du -sb "$OUT/app" | cut -f1) app" >&2
