#!/usr/bin/env bash
# Re-vendors the front-end files from the npm registry at the pinned versions below.
# The files are committed: the app never fetches anything at run time or at install time.
# Source maps are copied too, because whitenoise's manifest storage refuses to collect
# a file whose sourceMappingURL points at a missing map.
set -euo pipefail
BOOTSTRAP=5.3.9
HTMX=2.0.11      # htmx 4 is "latest" on npm and breaks 2.x markup: keep 2.0.x
CHARTJS=4.6.1

dest="$(cd "$(dirname "$0")/.." && pwd)/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
for pkg in "bootstrap@$BOOTSTRAP" "htmx.org@$HTMX" "chart.js@$CHARTJS"; do
  npm pack --silent "$pkg" >/dev/null
done
for tgz in *.tgz; do mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done

rm -rf "$dest/bootstrap" "$dest/htmx" "$dest/chartjs"
mkdir -p "$dest/bootstrap/css" "$dest/bootstrap/js" "$dest/htmx" "$dest/chartjs"
cp bootstrap-$BOOTSTRAP/package/dist/css/bootstrap.min.css{,.map} "$dest/bootstrap/css/"
cp bootstrap-$BOOTSTRAP/package/dist/js/bootstrap.bundle.min.js{,.map} "$dest/bootstrap/js/"
cp bootstrap-$BOOTSTRAP/package/LICENSE "$dest/bootstrap/LICENSE"
cp htmx.org-$HTMX/package/dist/htmx.min.js "$dest/htmx/"
cp htmx.org-$HTMX/package/LICENSE "$dest/htmx/LICENSE"
cp chart.js-$CHARTJS/package/dist/chart.umd.min.js{,.map} "$dest/chartjs/"
cp chart.js-$CHARTJS/package/LICENSE.md "$dest/chartjs/LICENSE.md"
cat > "$dest/VERSIONS" <<EOV
bootstrap $BOOTSTRAP
htmx.org $HTMX
chart.js $CHARTJS
EOV
echo "vendored into $dest:"; cat "$dest/VERSIONS"
