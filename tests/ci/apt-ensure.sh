#!/usr/bin/env bash
# Installs the Debian packages given as arguments (NAME or NAME=VERSION) that are not installed yet.
# A pinned version the registry no longer holds falls back to the package's candidate version.
# Touches apt (update + install) only when something is missing, so a ready machine pays nothing.
set -euo pipefail

missing=()
for package in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "${package%%=*}" 2>/dev/null || true)
    if [[ $status != ii* ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "apt: all ${#} packages present"
    exit 0
fi

if ((EUID != 0)); then
    echo "apt: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi

echo "apt: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    apt-get install -y -q --no-install-recommends "${missing[@]%%=*}"
