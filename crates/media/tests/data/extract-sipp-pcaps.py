#!/usr/bin/env python3
"""Writes sipp-rtp.txt: the RTP header facts of SIPp's media samples
(Debian package sip-tester, /usr/share/sip-tester), so tests replay their
exact shape without shipping the captures (g711a.pcap's speech stays out:
only its headers and payload lengths are kept).

    python3 crates/media/tests/data/extract-sipp-pcaps.py [DIR]

One line per packet:
    FILE ARRIVAL_US MARKER PT SEQ TS SSRC PAYLOAD
ARRIVAL_US is microseconds since the file's first packet; PAYLOAD is the
hex payload for telephone-events (PT 101) and "len=N" otherwise.
"""
import glob
import os
import struct
import sys

src = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/sip-tester'
here = os.path.dirname(os.path.abspath(__file__))


def packets(path):
    d = open(path, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    e = '<' if magic == 0xA1B2C3D4 else '>'
    assert struct.unpack(e + 'I', d[20:24])[0] == 1, 'Ethernet captures only'
    off = 24
    while off + 16 <= len(d):
        sec, usec, incl, _ = struct.unpack(e + 'IIII', d[off:off + 16])
        off += 16
        frame = d[off:off + incl]
        off += incl
        ihl = (frame[14] & 0x0F) * 4
        yield sec * 1_000_000 + usec, frame[14 + ihl + 8:]


lines = ['# FILE ARRIVAL_US MARKER PT SEQ TS SSRC PAYLOAD  (see extract-sipp-pcaps.py)']
for path in sorted(glob.glob(os.path.join(src, '*.pcap'))):
    name = os.path.basename(path)
    first = None
    for t, rtp in packets(path):
        first = t if first is None else first
        m, pt = rtp[1] >> 7, rtp[1] & 0x7F
        seq, ts, ssrc = struct.unpack('!HII', rtp[2:12])
        payload = rtp[12:].hex() if pt == 101 else 'len=%d' % (len(rtp) - 12)
        lines.append('%s %d %d %d %d %d %08x %s' % (name, t - first, m, pt, seq, ts, ssrc, payload))
with open(os.path.join(here, 'sipp-rtp.txt'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
print(len(lines) - 1, 'packets')
