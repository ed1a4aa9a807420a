# The build recipe of eng/native/build.sh (sourced by it; its hash is part of the cache key, so any change here rebuilds).
# Inputs from build.sh: WORK PREFIX LOG JOBS CROSS TRIPLET FFMPEG_TAR OPENCV_TAR OPENCV_DEBIAN_TAR OPENCVSHARP_SRC fail().
# shellcheck shell=bash
SECTIONS="-ffunction-sections -fdata-sections"

build_ffmpeg() {
  mkdir -p "$WORK/ffmpeg" && tar -xJf "$FFMPEG_TAR" -C "$WORK/ffmpeg" --strip-components=1
  local cross=()
  [ -z "$CROSS" ] || cross=(--enable-cross-compile --cross-prefix="$CROSS" --arch=aarch64 --target-os=linux)
  # Only what the capture sources need: RTSP (RTP over UDP/TCP), HTTP (MJPEG streams, files), local files; H.264,
  # HEVC, MPEG-4 part 2 (XviD/DivX), MS-MPEG4 and Motion-JPEG decoders; AVI/MP4/Matroska/raw streams. The MPEG-4 and
  # MJPEG encoders with the AVI/MP4 muxers keep cv::VideoWriter useful for tests and recordings. No TLS (rtsps/https),
  # no hardware decoders, nothing auto-detected from the build machine.
  (cd "$WORK/ffmpeg" && ./configure --prefix="$PREFIX" "${cross[@]}" \
      --enable-static --disable-shared --enable-pic --disable-debug --disable-programs --disable-doc \
      --disable-autodetect --disable-everything --enable-network --enable-pthreads \
      --disable-avdevice --disable-avfilter --disable-swresample --disable-postproc \
      --enable-protocol=file,pipe,http,tcp,udp,rtp \
      --enable-demuxer=rtsp,sdp,rtp,mjpeg,mpjpeg,avi,mov,matroska,h264,hevc,m4v,image2 \
      --enable-decoder=h264,hevc,mpeg4,msmpeg4v1,msmpeg4v2,msmpeg4v3,mjpeg,rawvideo \
      --enable-parser=h264,hevc,mpeg4video,mjpeg \
      --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,mpeg4_unpack_bframes \
      --enable-encoder=mpeg4,mjpeg,rawvideo --enable-muxer=avi,mp4,mov \
      --extra-cflags="$SECTIONS") >>"$LOG" 2>&1 || fail "FFmpeg configure"
  make -C "$WORK/ffmpeg" -j"$JOBS" >>"$LOG" 2>&1 || fail "FFmpeg build"
  make -C "$WORK/ffmpeg" install >>"$LOG" 2>&1 || fail "FFmpeg install"
}

build_opencv() {
  mkdir -p "$WORK/opencv" && tar -xJf "$OPENCV_TAR" -C "$WORK/opencv" --strip-components=1
  if [ -f "$OPENCV_DEBIAN_TAR" ]; then # Debian's build fixes (its tarball has no 3rdparty/; no downloads)
    tar -xJf "$OPENCV_DEBIAN_TAR" -C "$WORK/opencv"
    for p in cmake-no-download.patch cmake-dont-install-inexistent-files.patch; do
      [ -f "$WORK/opencv/debian/patches/$p" ] && patch -d "$WORK/opencv" -p1 -s < "$WORK/opencv/debian/patches/$p" >>"$LOG" 2>&1 || true
    done
  fi
  local tc=()
  [ -z "$CROSS" ] || tc=(-DCMAKE_TOOLCHAIN_FILE="$WORK/opencv/platforms/linux/aarch64-gnu.toolchain.cmake" -DCMAKE_FIND_ROOT_PATH="$PREFIX")
  local L="/usr/lib/$TRIPLET"
  cmake -G Ninja -S "$WORK/opencv" -B "$WORK/opencv-build" "${tc[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
      -DCMAKE_C_FLAGS="$SECTIONS" -DCMAKE_CXX_FLAGS="$SECTIONS" \
      -DBUILD_SHARED_LIBS=OFF -DENABLE_PIC=ON -DBUILD_LIST=core,imgproc,imgcodecs,videoio \
      -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_JAVA=OFF \
      -DBUILD_opencv_apps=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_python2=OFF -DOPENCV_GENERATE_PKGCONFIG=OFF \
      -DBUILD_ZLIB=OFF -DBUILD_JPEG=OFF -DBUILD_PNG=OFF -DBUILD_TIFF=OFF -DBUILD_WEBP=OFF -DBUILD_OPENJPEG=OFF \
      # The distribution's libjpeg/libpng/zlib shared libraries: its static archives are not position-independent and
      # cannot go into a shared object (measured: "relocation R_X86_64_PC32 ... recompile with -fPIC").
      -DZLIB_LIBRARY="$L/libz.so" -DJPEG_LIBRARY="$L/libjpeg.so" -DPNG_LIBRARY="$L/libpng.so" \
      -DWITH_JPEG=ON -DWITH_PNG=ON -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF \
      -DWITH_OPENEXR=OFF -DWITH_AVIF=OFF -DWITH_SPNG=OFF -DWITH_IMGCODEC_HDR=OFF -DWITH_IMGCODEC_SUNRASTER=OFF \
      -DWITH_IMGCODEC_PXM=OFF -DWITH_IMGCODEC_PFM=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF \
      -DWITH_FFMPEG=ON -DOPENCV_FFMPEG_SKIP_BUILD_CHECK=ON -DWITH_V4L=ON -DWITH_GSTREAMER=OFF -DWITH_1394=OFF \
      -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_OPENGL=OFF -DWITH_VTK=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF \
      -DWITH_OBSENSOR=OFF -DWITH_ANDROID_MEDIANDK=OFF -DWITH_IPP=OFF -DWITH_ITT=OFF -DWITH_OPENCL=OFF \
      -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF -DWITH_PROTOBUF=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_CUDA=OFF \
      -DWITH_OPENVX=OFF -DWITH_CAROTENE=OFF -DWITH_ADE=OFF -DWITH_QUIRC=OFF -DWITH_FLATBUFFERS=OFF \
      -DWITH_CAP_IOS=OFF -DCV_TRACE=OFF -DOPENCV_ENABLE_NONFREE=OFF \
      >>"$LOG" 2>&1 || fail "OpenCV configure"
  grep -q "FFMPEG:.*YES" "$WORK/opencv-build/CMakeCache.txt" "$LOG" 2>/dev/null || true
  cmake --build "$WORK/opencv-build" -j "$JOBS" >>"$LOG" 2>&1 || fail "OpenCV build"
  cmake --install "$WORK/opencv-build" >>"$LOG" 2>&1 || fail "OpenCV install"
}

build_extern() {
  mkdir -p "$WORK/opencvsharp" && cp -r "$OPENCVSHARP_SRC/src" "$WORK/opencvsharp/" && chmod -R u+w "$WORK/opencvsharp"
  local tc=()
  [ -z "$CROSS" ] || tc=(-DCMAKE_TOOLCHAIN_FILE="$WORK/opencv/platforms/linux/aarch64-gnu.toolchain.cmake" -DCMAKE_FIND_ROOT_PATH="$PREFIX")
  local no=()
  for m in CONTRIB STITCHING CALIB3D VIDEO FEATURES2D FLANN DNN ML OBJDETECT PHOTO BARCODE HIGHGUI; do no+=("-DNO_$m=ON"); done
  # Exports: OpenCvSharp's CVAPI functions (its own objects keep default visibility: with -fvisibility=hidden its header-
  # defined CVAPI functions were hidden, measured: 6 exports, EntryPointNotFoundException redirectError); the static
  # OpenCV/FFmpeg/libjpeg/libpng/zlib code is internal (--exclude-libs) and what nothing reaches is dropped (--gc-sections).
  cmake -G Ninja -S "$WORK/opencvsharp/src" -B "$WORK/extern-build" "${tc[@]}" "${no[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DOpenCV_DIR="$PREFIX/lib/cmake/opencv4" -DOpenCV_STATIC=ON \
      -DCMAKE_CXX_FLAGS="$SECTIONS" \
      -DCMAKE_SHARED_LINKER_FLAGS="-Wl,--gc-sections -Wl,--exclude-libs,ALL -Wl,--as-needed -Wl,-z,relro,-z,now -Wl,-z,noexecstack" \
      >>"$LOG" 2>&1 || fail "OpenCvSharpExtern configure"
  cmake --build "$WORK/extern-build" -j "$JOBS" >>"$LOG" 2>&1 || fail "OpenCvSharpExtern build"
}

