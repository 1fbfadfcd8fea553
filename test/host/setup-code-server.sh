#!/usr/bin/env bash
# Installs a real VS Code host for the extension's host tests, offline except for the npm registry and
# Debian apt: code-server 4.100.3 (VS Code 1.100.3, the last line that runs on Node 20) into
# .cache/code-server, plus Debian chromium to drive it. Idempotent: a finished install is detected by the
# marker file and skipped. Recipe and the three reasons a plain `npm install code-server` fails offline:
# /work/shared/ENVIRONMENT.md, "A real VS Code host, offline".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="$ROOT/.cache/code-server"
CS="$PREFIX/node_modules/code-server"
VERSION=4.100.3
MARKER="$PREFIX/.installed-$VERSION"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
if [ ! -f "$MARKER" ]; then
  [ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
  command -v g++ >/dev/null 2>&1 || need_apt+=(build-essential)
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
  command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-code-server: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_apt[@]}"
fi

if [ -f "$MARKER" ]; then
  echo "setup-code-server: code-server $VERSION already in $PREFIX"
  exit 0
fi

# node-gyp must use the local Node headers, never download them.
export npm_config_nodedir=/usr
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
# node-pty's post-install runs `npx node-gyp …`; let npx fetch node-gyp from the npm registry without asking.
export npm_config_yes=true
mkdir -p "$PREFIX"
[ -f "$PREFIX/package.json" ] || echo '{ "name": "faceinv-code-server-host", "private": true }' > "$PREFIX/package.json"
echo "setup-code-server: npm install code-server@$VERSION (scripts off; replayed below)"
(cd "$PREFIX" && npm install --no-save --ignore-scripts --loglevel=error "code-server@$VERSION")
# Native modules of code-server itself (argon2); a plain `npm rebuild` would rerun its postinstall.
(cd "$PREFIX" && npm rebuild argon2 --loglevel=error)

# code-server's postinstall, by hand (its @vscode/ripgrep step would download rg from GitHub).
cd "$CS/lib/vscode"
npm install --omit=dev --ignore-scripts --loglevel=error
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild --loglevel=error
rm -rf node_modules.asar && ln -s node_modules node_modules.asar
(cd bin/remote-cli && rm -f code-server && ln -s code-linux.sh code-server)
(cd bin/helpers && rm -f browser.sh && ln -s browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --loglevel=error)

touch "$MARKER"
echo "setup-code-server: done ($CS)"
