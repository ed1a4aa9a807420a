#!/usr/bin/env bash
# Builds the slim native OpenCV stack the module images ship: ONE stripped libOpenCvSharpExtern.so with OpenCV
# (core, imgproc, imgcodecs with JPEG/PNG, videoio with V4L2 and FFmpeg) and a minimal FFmpeg linked in statically,
# symbols hidden except OpenCvSharp's C API. No GUI (GTK/highgui), no contrib, no DNN.
#
#   eng/native/build.sh [--arch x64|arm64] [--quiet]
#
# Sources (all verified before use):
#   - OpenCV and FFmpeg: Debian source packages (apt-get source, through a private apt directory with deb-src lines for
#     the machine's own Debian mirror; nothing in /etc/apt changes). OpenCV from trixie (4.10, the closest to the 4.13
#     that OpenCvSharp 4.13 wraps), FFmpeg from bookworm (5.1). Override with OPENCV_SUITE / FFMPEG_SUITE.
#   - OpenCvSharpExtern: the C++ wrapper of the OpenCvSharp version in Directory.Packages.props. OPENCVSHARP_SRC points at
#     an unpacked source tree (src/CMakeLists.txt inside); without it, the tagged release archive is downloaded.
#   - libjpeg-turbo, libpng, zlib: the distribution's shared libraries (libjpeg62-turbo-dev, libpng-dev, zlib1g-dev,
#     for arm64 the :arm64 packages; the script says what to install).
#
# The result is cached under ${EDGE_NATIVE_CACHE:-~/.cache/edge-native}/<input hash>/linux-<arch>/ (hash of recipe.sh,
# the source package versions and tarball hashes, the OpenCvSharp tree, the compilers): a second run with the same inputs
# returns at once. eng/native/recipe.sh holds the configure options. The last line on stdout is the folder holding libOpenCvSharpExtern.so and build-info.txt.
# Exit codes: 0 built or cached; 1 build failed (log path printed); 2 bad arguments or missing prerequisites.
set -euo pipefail

ARCH=x64
QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="${2:-}"; shift 2 ;;
    --arch=*) ARCH="${1#*=}"; shift ;;
    --quiet) QUIET=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eng/native/build.sh: unknown argument '$1' (use --arch x64|arm64)" >&2; exit 2 ;;
  esac
done
case "$ARCH" in
  x64|amd64) ARCH=x64; TRIPLET=x86_64-linux-gnu; CROSS="" ;;
  arm64|aarch64|arm64v8) ARCH=arm64; TRIPLET=aarch64-linux-gnu; CROSS=aarch64-linux-gnu- ;;
  *) echo "eng/native/build.sh: --arch must be x64 or arm64, not '$ARCH'" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${EDGE_NATIVE_CACHE:-$HOME/.cache/edge-native}"
OPENCV_SUITE="${OPENCV_SUITE:-trixie}"
FFMPEG_SUITE="${FFMPEG_SUITE:-bookworm}"
JOBS="${JOBS:-$(nproc)}"
OPENCVSHARP_VERSION="$(sed -n 's/.*Include="OpenCvSharp4" Version="\([^"]*\)".*/\1/p' "$ROOT/Directory.Packages.props")"
mkdir -p "$CACHE"
say() { [ "$QUIET" = 1 ] || echo "native: $*" >&2; }

# --- prerequisites ---------------------------------------------------------------------------------------------------
missing=()
for tool in cmake ninja pkg-config nasm dpkg-source make "${CROSS}gcc" "${CROSS}g++" "${CROSS}strip" "${CROSS}readelf"; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
for lib in libjpeg.so libpng.so libz.so; do
  [ -f "/usr/lib/$TRIPLET/$lib" ] || missing+=("/usr/lib/$TRIPLET/$lib")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs="cmake ninja-build pkg-config nasm dpkg-dev"
  if [ "$ARCH" = arm64 ]; then
    pkgs="$pkgs crossbuild-essential-arm64 libjpeg62-turbo-dev:arm64 libpng-dev:arm64 zlib1g-dev:arm64 (after: dpkg --add-architecture arm64 && apt-get update)"
  else
    pkgs="$pkgs build-essential libjpeg62-turbo-dev libpng-dev zlib1g-dev"
  fi
  echo "eng/native/build.sh: missing ${missing[*]}; install: apt-get install $pkgs" >&2
  exit 2
fi

# --- Debian source packages through a private apt directory ----------------------------------------------------------
APTDIR="$CACHE/apt"
mkdir -p "$APTDIR/lists/partial" "$APTDIR/archives/partial" "$CACHE/src"
mirror="$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
printf 'deb-src %s %s main\n' "$mirror" "$OPENCV_SUITE" "$mirror" "$FFMPEG_SUITE" | sort -u > "$APTDIR/sources.list"
APTO=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$APTDIR/lists"
      -o "Dir::Cache=$APTDIR" -o APT::Sandbox::User=root -o Debug::NoLocking=1 -q)
if [ -z "$(find "$APTDIR/lists" -name '*Sources*' -mmin -1440 2>/dev/null | head -1)" ]; then
  say "apt-get update (source indexes of $OPENCV_SUITE and $FFMPEG_SUITE from $mirror)"
  apt-get "${APTO[@]}" update >"$APTDIR/update.log" 2>&1 || { echo "eng/native/build.sh: apt-get update failed, see $APTDIR/update.log" >&2; exit 1; }
fi
srcver() { # package suite -> version in that suite's Sources index
  local f; f="$(ls "$APTDIR"/lists/*_dists_"$2"_main_source_Sources* 2>/dev/null | head -1)"
  [ -n "$f" ] || { echo "eng/native/build.sh: no $2 Sources index in $APTDIR/lists" >&2; exit 1; }
  /usr/lib/apt/apt-helper cat-file "$f" | awk -v p="$1" '$1=="Package:"{pk=$2} $1=="Version:"&&pk==p&&!d{print $2; d=1}'
}
OPENCV_DEB="${OPENCV_DEB_VERSION:-$(srcver opencv "$OPENCV_SUITE")}"
FFMPEG_DEB="${FFMPEG_DEB_VERSION:-$(srcver ffmpeg "$FFMPEG_SUITE")}"
fetch_src() { # package version -> path of the upstream (orig) tarball, checked against the Sources index by apt
  local pkg="$1" ver="$2" up; up="${ver#*:}"; up="${up%-*}"
  local orig="$CACHE/src/${pkg}_${up}.orig.tar.xz"
  if [ ! -f "$orig" ]; then
    say "apt-get source $pkg=$ver"
    # --download-only: apt checks every file against the signed Sources index; the .dsc is not needed (and some
    # mirrors lack it), the patches come from the .debian.tar.xz.
    (cd "$CACHE/src" && apt-get "${APTO[@]}" source --download-only "$pkg=$ver" >"$CACHE/src/$pkg.log" 2>&1) || true
    [ -f "$orig" ] || { echo "eng/native/build.sh: apt-get source $pkg=$ver failed, see $CACHE/src/$pkg.log" >&2; exit 1; }
  fi
  echo "$orig"
}
OPENCV_TAR="$(fetch_src opencv "$OPENCV_DEB")"
FFMPEG_TAR="$(fetch_src ffmpeg "$FFMPEG_DEB")"
OPENCV_DEBIAN_TAR="$CACHE/src/opencv_${OPENCV_DEB#*:}.debian.tar.xz"

# --- OpenCvSharpExtern source -----------------------------------------------------------------------------------------
if [ -z "${OPENCVSHARP_SRC:-}" ]; then
  OPENCVSHARP_SRC="$CACHE/src/opencvsharp-$OPENCVSHARP_VERSION"
  if [ ! -f "$OPENCVSHARP_SRC/src/CMakeLists.txt" ]; then
    say "downloading OpenCvSharp $OPENCVSHARP_VERSION source"
    mkdir -p "$OPENCVSHARP_SRC"
    curl -fsSL "https://github.com/shimat/opencvsharp/archive/refs/tags/$OPENCVSHARP_VERSION.tar.gz" \
      | tar -xz -C "$OPENCVSHARP_SRC" --strip-components=1 \
      || { echo "eng/native/build.sh: cannot download OpenCvSharp $OPENCVSHARP_VERSION; set OPENCVSHARP_SRC to an unpacked source tree" >&2; exit 1; }
  fi
fi
[ -f "$OPENCVSHARP_SRC/src/CMakeLists.txt" ] || { echo "eng/native/build.sh: OPENCVSHARP_SRC=$OPENCVSHARP_SRC has no src/CMakeLists.txt" >&2; exit 2; }

# --- input hash ---------------------------------------------------------------------------------------------------------
tree_hash() { (cd "$1" && find src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64); }
INPUTS="$(
  echo "recipe $(sha256sum "$ROOT/eng/native/recipe.sh" | cut -c1-64)"
  echo "arch $ARCH"
  echo "opencv $OPENCV_DEB $(sha256sum "$OPENCV_TAR" | cut -c1-64) $(sha256sum "$OPENCV_DEBIAN_TAR" 2>/dev/null | cut -c1-64)"
  echo "ffmpeg $FFMPEG_DEB $(sha256sum "$FFMPEG_TAR" | cut -c1-64)"
  echo "opencvsharp $OPENCVSHARP_VERSION $(tree_hash "$OPENCVSHARP_SRC")"
  echo "cc $("${CROSS}gcc" --version | head -1)"
  echo "libs $(dpkg-query -W -f='${Package}:${Architecture}=${Version} ' "libjpeg62-turbo-dev:${TRIPLET%%-*}" "libpng-dev:${TRIPLET%%-*}" "zlib1g-dev:${TRIPLET%%-*}" 2>/dev/null | sed 's/x86_64/amd64/g;s/aarch64/arm64/g')"
)"
HASH="$(echo "$INPUTS" | sha256sum | cut -c1-16)"
OUT="$CACHE/$HASH/linux-$ARCH"
if [ -f "$OUT/libOpenCvSharpExtern.so" ] && [ -f "$OUT/build-info.txt" ]; then
  say "cached: $OUT"
  echo "$OUT"
  exit 0
fi

# --- build -------------------------------------------------------------------------------------------------------------
WORK="$CACHE/work/$HASH-$ARCH"
LOG="$CACHE/work/$HASH-$ARCH.log"
mkdir -p "$CACHE/work"
exec 9>"$CACHE/work.$ARCH.lock"
flock 9
rm -rf "$WORK"; mkdir -p "$WORK"
say "building linux-$ARCH (inputs $HASH) with -j$JOBS; log: $LOG"
started=$(date +%s)
PREFIX="$WORK/prefix"
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
fail() { echo "eng/native/build.sh: $1 failed; last lines of $LOG:" >&2; tail -25 "$LOG" >&2; exit 1; }

# shellcheck source=eng/native/recipe.sh
source "$ROOT/eng/native/recipe.sh"

build_ffmpeg
say "FFmpeg done after $(( $(date +%s) - started )) s"
build_opencv
say "OpenCV done after $(( $(date +%s) - started )) s"
build_extern
mkdir -p "$OUT.tmp"
"${CROSS}strip" --strip-unneeded -o "$OUT.tmp/libOpenCvSharpExtern.so" "$WORK/extern-build/OpenCvSharpExtern/libOpenCvSharpExtern.so"
needed="$("${CROSS}readelf" -d "$OUT.tmp/libOpenCvSharpExtern.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
exports="$("${CROSS}readelf" --dyn-syms -W "$OUT.tmp/libOpenCvSharpExtern.so" | awk '$5=="GLOBAL" && $7!="UND" && $4=="FUNC"' | wc -l)"
{
  echo "$INPUTS"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(( $(date +%s) - started )) s with -j$JOBS"
  echo "size $(stat -c %s "$OUT.tmp/libOpenCvSharpExtern.so")"
  echo "needed $needed"
  echo "exported-functions $exports"
} > "$OUT.tmp/build-info.txt"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
say "built in $(( $(date +%s) - started )) s: $OUT ($(stat -c %s "$OUT/libOpenCvSharpExtern.so") bytes; needs $needed)"
echo "$OUT"
