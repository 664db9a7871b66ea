#!/usr/bin/env bash
# Prints the path of an NVIDIA ptxas, fetching it when needed: Debian's non-free nvidia-cuda-toolkit (CUDA 11.8)
# ships a standalone ptxas. Only that .deb is downloaded, through a private apt configuration; the system's apt
# sources are untouched and nothing is installed. Usage: PTXAS=$(tools/ci/get-ptxas.sh [cache-dir])
set -euo pipefail
cache="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gpt2-ptxas}"
if command -v ptxas >/dev/null 2>&1; then command -v ptxas; exit 0; fi
if [ -x "$cache/usr/bin/ptxas" ]; then echo "$cache/usr/bin/ptxas"; exit 0; fi
mkdir -p "$cache/lists/partial"
uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
uri="${uri:-http://deb.debian.org/debian}"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$uri" "$suite" > "$cache/nonfree.sources"
opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$cache" -o Dir::State::Lists="$cache/lists")
apt-get "${opts[@]}" update -qq >&2
(cd "$cache" && apt-get "${opts[@]}" download -qq nvidia-cuda-toolkit >&2)
dpkg-deb --fsys-tarfile "$cache"/nvidia-cuda-toolkit_*.deb | tar -C "$cache" -x ./usr/bin/ptxas
rm -f "$cache"/nvidia-cuda-toolkit_*.deb
echo "$cache/usr/bin/ptxas"
