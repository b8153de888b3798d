#!/usr/bin/env bash
# Installs what the preprocessing ground-truth test compiles against: g++ and Debian's OpenCV
# imgcodecs/imgproc headers (a C++ program making the OpenCV calls of Rockchip's multimodal demo;
# tests/groundtruth/demo_preprocess.cpp). Skipped when present. About 42 MB to download.
set -euo pipefail
if command -v g++ >/dev/null 2>&1 && [ -f /usr/include/opencv4/opencv2/imgcodecs.hpp ] \
   && [ -f /usr/include/opencv4/opencv2/imgproc.hpp ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "rklab: installing g++ and OpenCV headers (for the preprocessing ground-truth test)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  g++ libopencv-imgcodecs-dev libopencv-imgproc-dev >/dev/null
