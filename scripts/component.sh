#!/usr/bin/env bash
# Proves the `cargo component build` path: installs cargo-component once (cached in
# $SLUICE_CACHE/cargo-component, since it takes minutes to build), then builds every
# plugin with it and checks each output is a component that `host` accepts.
#   scripts/component.sh           install if needed, then build and check every plugin
#   scripts/component.sh install   only install cargo-component and the wasm32-wasip1 target
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}/cargo-component"
version=0.21.1
bin="$cache/bin/cargo-component"
case "${1:-check}" in
  install|check) ;;
  *) echo "component.sh: unknown command '$1'; use 'install' or nothing" >&2; exit 2 ;;
esac
if [ ! -x "$bin" ]; then
  echo "component.sh: installing cargo-component $version into $cache (one-off, several minutes)"
  cargo install cargo-component --locked --version "$version" --root "$cache" -j2
fi
# cargo-component builds for wasm32-wasip1 and adapts the module to a component.
if ! rustup target list --installed | grep -qx wasm32-wasip1; then
  echo "component.sh: rustup target add wasm32-wasip1"
  rustup target add wasm32-wasip1
fi
if [ "${1:-check}" = install ]; then
  echo "component.sh: cargo-component $version is at $bin"
  exit 0
fi
export PATH="$cache/bin:$PATH"
cd "$here"
out="target/component-check"
for dir in plugins/*/; do
  name=$(basename "$dir")
  echo "component.sh: cargo component build --release -p $name"
  CARGO_TARGET_DIR="$out" cargo component build --release -j2 -p "$name" >/dev/null
done
for wasm in "$out"/wasm32-wasip1/release/*.wasm; do
  head -c 8 "$wasm" | od -An -tx1 | grep -q "00 61 73 6d 0d 00 01 00" \
    || { echo "component.sh: $wasm is not a component" >&2; exit 1; }
  echo "component.sh: $wasm is a component"
done
