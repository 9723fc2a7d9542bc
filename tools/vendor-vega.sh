#!/usr/bin/env bash
# Refresh the plotting library that `rubrictest view` and `report --html` ship as package data
# (rubrictest/view/static/vendor): Vega, Vega-Lite and vega-embed from the npm registry, their
# minified browser builds and licences. The pages load them from the package, never a CDN.
#   tools/vendor-vega.sh [VEGA_VERSION VEGA_LITE_VERSION VEGA_EMBED_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
dest=rubrictest/view/static/vendor
versions=("vega@${1:-6.4.0}" "vega-lite@${2:-6.4.3}" "vega-embed@${3:-7.3.0}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${versions[@]}" >/dev/null)
: > "$dest/VERSIONS"
for spec in "${versions[@]}"; do
  name=${spec%@*}
  mkdir -p "$work/$name"
  tar xzf "$work/$name"-[0-9]*.tgz -C "$work/$name"
  # Without the source-map comment a browser's developer tools never ask the network for a map.
  sed '/^\/\/# sourceMappingURL=/d' "$work/$name/package/build/$name.min.js" > "$dest/$name.min.js"
  cp "$work/$name/package/LICENSE" "$dest/LICENSE.$name"
  echo "$spec" >> "$dest/VERSIONS"
done
