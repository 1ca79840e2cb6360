#!/usr/bin/env bash
# Installs the Debian packages syncctl builds, tests and demos with, only
# those missing. Fast (no apt-get at all) when everything is present.
set -euo pipefail

packages=(
	build-essential pkg-config
	libpq-dev libcurl4-openssl-dev libcjson-dev libmongoc-dev libbson-dev
	libyaml-dev libsqlite3-dev libssl-dev libpg-query-dev libprotobuf-c-dev
	postgresql-15 postgresql-client-15
	scdoc bash-completion zsh fish bats parallel libcmocka-dev python3 perl
	clang libclang-rt-14-dev python3-jwcrypto python3-mockupdb openssl bc
	prometheus
)

# Node.js and npm run the reference implementations the conformance tests
# compare with (npm packages jose, @powersync/service-sync-rules); a machine
# that has node already keeps it.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
# Node's headers, for compiling better-sqlite3 (the PowerSync SDK's SQLite).
[ -f /usr/include/node/node.h ] || packages+=(libnode-dev)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
