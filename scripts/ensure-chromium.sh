#!/usr/bin/env bash
# Installs what the browser tests need when it is missing (Debian packages):
#   chromium + chromium-driver  the HTML pages in a real browser (tests/test_html_browser.py, test_pages.py)
#   fonts-noto-cjk              a Chinese font, so the zh pages render real glyphs, not boxes
set -euo pipefail
PKGS=()
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  PKGS+=(chromium chromium-driver)
fi
if ! fc-list :lang=zh 2>/dev/null | grep -qi "Noto Sans CJK"; then
  PKGS+=(fonts-noto-cjk)
fi
[ "${#PKGS[@]}" -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "rklab: installing ${PKGS[*]} (for the browser tests)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PKGS[@]}" >/dev/null
