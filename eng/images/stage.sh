#!/usr/bin/env bash
# Builds one module's image contents: the slim native stack (eng/native/build.sh, cached), the Native AOT publish with
# that stack (EdgeNativeDir), and the final-stage file tree (eng/images/rootfs.sh). The same script runs on a build
# machine (`edge images build`, then the Dockerfile's prebuilt stage copies the tree) and inside the Dockerfile's SDK
# build stage (plain `docker build`).
#
#   eng/images/stage.sh --module CameraCapture|Inference [--arch x64|arm64] [--configuration Release] [--models <dir>] --out <folder>
#
# <out>/publish is the publish folder, <out>/rootfs/{base,native,app} the image layers, <out>/native.txt the slim stack's
# build-info.txt. Inference: --models names the folder with the SHA-256-verified BlazeFace models (eng/assets.sh's cache, or
# the Dockerfile's models stage); they go to <out>/rootfs/models/app/models (a layer of their own).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODULE="" ARCH=x64 CONFIGURATION=Release OUT="" MODELS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --module) MODULE="$2"; shift 2 ;;
    --arch) ARCH="$2"; shift 2 ;;
    --configuration) CONFIGURATION="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eng/images/stage.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$MODULE" in CameraCapture|Inference) ;; *) echo "eng/images/stage.sh: --module must be CameraCapture or Inference" >&2; exit 2 ;; esac
case "$ARCH" in x64|amd64) ARCH=x64 ;; arm64|arm64v8|aarch64) ARCH=arm64 ;; *) echo "eng/images/stage.sh: --arch must be x64 or arm64" >&2; exit 2 ;; esac
[ -n "$OUT" ] || { echo "eng/images/stage.sh: --out <folder> is required" >&2; exit 2; }
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"

native="$("$ROOT/eng/native/build.sh" --arch "$ARCH" | tail -1)"
cp "$native/build-info.txt" "$OUT/native.txt"
rm -rf "$OUT/publish"
dotnet publish "$ROOT/modules/$MODULE/$MODULE.csproj" -c "$CONFIGURATION" -r "linux-$ARCH" -nologo -v quiet \
  -p:EdgeNativeDir="$native" -o "$OUT/publish" ${EDGE_PUBLISH_ARGS:-} >"$OUT/publish.log" 2>&1 \
  || { tail -30 "$OUT/publish.log" >&2; echo "eng/images/stage.sh: dotnet publish of $MODULE for linux-$ARCH failed (log: $OUT/publish.log)" >&2; exit 1; }
cmp -s "$native/libOpenCvSharpExtern.so" "$OUT/publish/libOpenCvSharpExtern.so" \
  || { echo "eng/images/stage.sh: the publish folder does not hold the slim libOpenCvSharpExtern.so" >&2; exit 1; }
"$ROOT/eng/images/rootfs.sh" --arch "$ARCH" --publish "$OUT/publish" --exe "$MODULE" --out "$OUT/rootfs"
if [ "$MODULE" = Inference ]; then
  [ -n "$MODELS" ] || MODELS="$("$ROOT/eng/assets.sh")"
  mkdir -p "$OUT/rootfs/models/app/models"
  for f in face_detection_front_128x128_barracuda.onnx face_detection_back_256x256_barracuda.onnx blazeface.LICENSE; do
    cp "$MODELS/$f" "$OUT/rootfs/models/app/models/" || { echo "eng/images/stage.sh: $MODELS/$f missing (eng/assets.sh fetches the models)" >&2; exit 1; }
  done
  (cd "$OUT/rootfs/models/app/models" && printf '%s\n' \
    "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51  face_detection_front_128x128_barracuda.onnx" \
    "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2  face_detection_back_256x256_barracuda.onnx" | sha256sum -c --quiet -) \
    || { echo "eng/images/stage.sh: the models in $MODELS do not match their SHA-256 pins" >&2; exit 1; }
fi
