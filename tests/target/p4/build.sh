#!/bin/sh
# Rebuild the committed p4c outputs of the embedded-target test programs.
set -e
cd "$(dirname "$0")"
P4C=${P4C:-$(command -v p4c-bm2-ss || echo /opt/p4/bin/p4c-bm2-ss)}
mkdir -p build
for p in *.p4; do
    n=${p%.p4}
    "$P4C" --arch v1model -o "build/$n.json" --p4runtime-files "build/$n.p4info.txtpb" "$p"
done
