#!/usr/bin/env bash
# Put Gen2Res in the Linux desktop's application menu for the current user, after
# `pip install` (the menu entry, the AppStream description and the icon in every size).
#
#   packaging/install-desktop-entry.sh [PATH_TO_gen2res-desktop]
#
# The program defaults to the gen2res-desktop found on PATH. Its absolute path goes into the
# installed entry, because a menu does not see a virtual environment's bin folder.
# Files go under ${XDG_DATA_HOME:-~/.local/share}; remove them to uninstall.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_ID="io.github.gen2res.Gen2Res"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
PROGRAM="${1:-$(command -v gen2res-desktop || true)}"
if [[ -z "$PROGRAM" || ! -x "$PROGRAM" ]]; then
    echo "gen2res-desktop not found: install Gen2Res first, or pass the program's path." >&2
    exit 1
fi
PROGRAM="$(cd "$(dirname "$PROGRAM")" && pwd)/$(basename "$PROGRAM")"
if [[ "$PROGRAM" =~ [[:space:]] ]]; then
    PROGRAM="\"$PROGRAM\""  # the desktop entry spec quotes arguments with spaces
fi

mkdir -p "$DATA/applications" "$DATA/metainfo" "$DATA/icons"
sed -e "s|^Exec=gen2res-desktop|Exec=$PROGRAM|" -e "s|^TryExec=.*|TryExec=${PROGRAM//\"/}|" \
    "$ROOT/resources/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
cp "$ROOT/resources/$APP_ID.metainfo.xml" "$DATA/metainfo/"
cp -R "$ROOT/gen2res_desktop/data/icons/hicolor" "$DATA/icons/"

# Refresh the caches where the tools exist; desktops also notice the files on their own.
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "Installed the Gen2Res menu entry in $DATA (program: $PROGRAM)"
