#!/bin/bash
# setup.sh - install upager's build dependencies, then build it in the
# source tree: ./autogen.sh, ./configure, make (and make check on request).
#
# Usage: scripts/setup.sh [OPTION...] [-- CONFIGURE-ARGUMENT...]
#
#   --check      run the test suite (make check) after the build
#   --deps-only  install the dependencies, build nothing
#   --no-deps    install nothing: build only
#   --list-deps  print the Debian packages it installs, one a line
#   -h, --help   this text
#
# The dependencies are the Debian packages of DEPS below (Debian 12,
# Ubuntu); this is the one list of them (.ci/run installs them through
# --deps-only).  Packages already installed are left alone (dpkg-query);
# the missing ones are installed with apt-get: directly as root, else
# through sudo.  Without root or sudo, or where apt-get is not the
# package manager, it names the missing packages and stops (exit 1).
#
# Copyright (C) 2026 The upager authors.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

DEPS=(build-essential autoconf automake libtool pkg-config
      liburing-dev libsigsegv-dev libcunit1-dev)

prog=${0##*/}
usage() {
	sed -n '/^# Usage:/,/^#   -h/ s/^# \{0,1\}//p' "$0"
}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

check=0 deps=1 build=1
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1 ;;
	--deps-only) build=0 ;;
	--no-deps) deps=0 ;;
	--list-deps) printf '%s\n' "${DEPS[@]}"; exit 0 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) printf '%s: unknown option: %s\n' "$prog" "$1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ "$deps" = 1 ] || [ "$build" = 1 ] || die "--deps-only and --no-deps leave nothing to do"
[ "$build" = 1 ] || [ "$check" = 0 ] || die "--check needs a build (not --deps-only)"
cd "$(dirname "$0")/.."

# The packages of DEPS that are not installed, one a line.
missing_deps() {
	local p status
	for p in "${DEPS[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
		case $status in
		*" ok installed") ;;
		*) echo "$p" ;;
		esac
	done
}

install_deps() {
	local missing=() sudo=()

	if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
		die "no apt-get here: install the equivalents of these Debian packages" \
		    "with your system's package manager, then run $0 --no-deps:" \
		    "${DEPS[*]}"
	fi
	mapfile -t missing < <(missing_deps)
	if [ ${#missing[@]} = 0 ]; then
		echo "$prog: build dependencies installed: ${DEPS[*]}"
		return 0
	fi
	echo "$prog: build dependencies missing: ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null ||
			die "not root, and no sudo: as root, run" \
			    "\`apt-get update && apt-get install ${missing[*]}\`," \
			    "then run $0 again"
		sudo=(sudo)
	fi
	# --no-install-recommends: what the build needs, nothing more.
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
	   ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		[ ${#sudo[@]} = 0 ] &&
			die "could not install: ${missing[*]} (apt-get failed: see above)"
		die "could not install: ${missing[*]} (apt-get through sudo failed);" \
		    "as root, run \`apt-get update && apt-get install ${missing[*]}\`," \
		    "then run $0 again"
	fi
	mapfile -t missing < <(missing_deps)
	[ ${#missing[@]} = 0 ] || die "still missing after apt-get: ${missing[*]}"
}

[ "$deps" = 0 ] || install_deps
[ "$build" = 1 ] || exit 0

./autogen.sh
./configure "$@"
make -j"$(nproc)"
[ "$check" = 0 ] || make -j"$(nproc)" check
echo "$prog: built; try ./examples/upager-sort (sorts 1 GiB under a 128 MiB limit)"
