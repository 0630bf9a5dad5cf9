#!/usr/bin/env bash
# Leaflet and its plugins, served by the app itself (static/vendor/) so maps
# work on networks without internet. Taken from the npm registry at setup time.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent leaflet@1.9.4 leaflet.heat@0.2.0 leaflet.markercluster@1.5.3 >/dev/null 2>&1 )
mkdir -p "$dest/leaflet" "$dest/leaflet.heat" "$dest/leaflet.markercluster"
tar -xzf "$tmp"/leaflet-1.9.4.tgz -C "$tmp" && cp -r "$tmp"/package/dist/* "$dest/leaflet/" && rm -rf "$tmp/package"
tar -xzf "$tmp"/leaflet.heat-0.2.0.tgz -C "$tmp" && cp "$tmp"/package/dist/leaflet-heat.js "$dest/leaflet.heat/" && rm -rf "$tmp/package"
tar -xzf "$tmp"/leaflet.markercluster-1.5.3.tgz -C "$tmp" && cp -r "$tmp"/package/dist/* "$dest/leaflet.markercluster/" && rm -rf "$tmp/package"
echo "vendored: $(find "$dest" -type f | wc -l) files in $dest"
