#!/bin/sh
# Regenerates g711-reference.txt: every A-law and µ-law code decoded to
# 16-bit linear by SoX, an implementation independent of ours.
#
#   apt-get install -y sox   # Debian package; 14.4.2 made the committed table
#   sh crates/media/tests/data/make-g711-reference.sh
#
# Output: one line per code, "code alaw_linear ulaw_linear" (decimal).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# All 256 byte values, in order.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > "$tmp/codes"
for law in a-law u-law; do
    sox -t raw -r 8000 -c 1 -e "$law" -b 8 "$tmp/codes" \
        -t raw -r 8000 -c 1 -e signed-integer -b 16 -L "$tmp/$law.s16"
done
python3 - "$tmp" > g711-reference.txt <<'PY'
import struct, sys
d = sys.argv[1]
a = struct.unpack('<256h', open(d + '/a-law.s16', 'rb').read())
u = struct.unpack('<256h', open(d + '/u-law.s16', 'rb').read())
print('# code alaw ulaw  (SoX ' + 'decode of each G.711 code to 16-bit linear; see make-g711-reference.sh)')
for c in range(256):
    print(c, a[c], u[c])
PY
