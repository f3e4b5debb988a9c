#!/bin/sh
# Install a built dashboard (SOURCE) into the directory nginx serves (TARGET), replacing the
# previous build while nginx may be serving it:
#   1. copy every file but index.html: new hashed assets sit beside the old ones, nothing breaks;
#   2. swap index.html in one rename, so a page load sees the old build or the new one, never half;
#   3. delete what the new build does not have (the previous build's assets).
# Usage: publish-dashboard SOURCE TARGET
set -eu

src=${1:?usage: publish-dashboard SOURCE TARGET}
dst=${2:?usage: publish-dashboard SOURCE TARGET}
umask 022 # nginx runs as another user: files must be world-readable

[ -f "$src/index.html" ] || { echo "publish-dashboard: no index.html in $src" >&2; exit 1; }
mkdir -p "$dst"
src=$(cd "$src" && pwd) # absolute: the script changes directory below
dst=$(cd "$dst" && pwd)

cd "$src"
find . -type d -exec mkdir -p "$dst/{}" \;
find . -type f ! -path ./index.html -exec cp -f {} "$dst/{}" \;

cp -f index.html "$dst/.index.html.new"
mv -f "$dst/.index.html.new" "$dst/index.html"

cd "$dst"
find . -type f ! -path ./index.html | while IFS= read -r file; do
  [ -e "$src/$file" ] || rm -f "$file"
done
find . -mindepth 1 -type d -empty -delete

echo "publish-dashboard: $(find . -type f | wc -l) files in $dst"
