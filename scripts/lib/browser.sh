# Makes sure the browser tests (crates/server/tests/browser.rs) have headless Chromium and
# ChromeDriver: Debian's chromium and chromium-driver. Sourced by scripts/test.

browser_ready() {
  [[ -x "${CHROMIUM:-/usr/bin/chromium}" && -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ]]
}

ensure_browser() {
  browser_ready && return 0
  echo "installing chromium and chromium-driver (apt-get)" >&2
  apt_install chromium chromium-driver
  browser_ready
}
