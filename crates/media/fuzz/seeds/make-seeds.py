#!/usr/bin/env python3
"""Writes the small seed inputs for the fuzz targets (run from this folder:
python3 seeds/make-seeds.py). Seeds are valid inputs the fuzzer mutates."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def rtp(pt, seq, ts, ssrc, payload, marker=False, csrcs=(), ext=None, pad=0):
    b0 = 0x80 | len(csrcs) | (0x20 if pad else 0) | (0x10 if ext is not None else 0)
    out = struct.pack('!BBHII', b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    for c in csrcs:
        out += struct.pack('!I', c)
    if ext is not None:
        out += struct.pack('!HH', 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += bytes(pad - 1) + bytes([pad])
    return out


def write(target, name, data):
    with open(os.path.join(here, target, name), 'wb') as f:
        f.write(data)


write('rtp', 'pcma-30ms', rtp(8, 1, 240, 0x1234, bytes([0xD5]) * 240, marker=True))
write('rtp', 'csrc-ext-pad', rtp(0, 65535, 0xFFFFFFFF, 7, b'abc', csrcs=(1, 2), ext=b'\x10\x01\x02\x03', pad=4))
write('rtp', 'event-end', rtp(101, 9, 8000, 0xABCD, bytes([5, 0x8A, 0x05, 0xA0])))

sr = struct.pack('!BBHIQIII', 0x81, 200, 12, 1, 0x0102030405060708, 160, 10, 1600)
sr += struct.pack('!IIIIII', 2, 0x01000005, 70000, 12, 13, 14)
cname = b'callward'
sdes_body = struct.pack('!IBB', 1, 1, len(cname)) + cname
sdes_body += bytes(4 - len(sdes_body) % 4)
sdes = struct.pack('!BBH', 0x81, 202, len(sdes_body) // 4) + sdes_body
bye = struct.pack('!BBHI', 0x81, 203, 1, 1)
write('rtcp', 'sr-sdes-bye', sr + sdes + bye)
write('rtcp', 'rr-empty', struct.pack('!BBHI', 0x80, 201, 1, 4))

# media_stream: one ptime byte, then records of [gap_ms, flags, len, datagram].
stream = bytes([1])
for i in range(6):
    pkt = rtp(8, i, 240 * i, 0x1234, bytes([(i * 37 + k) & 0xFF for k in range(240)]))[:255]
    stream += bytes([30, 0, len(pkt)]) + pkt
    out = rtp(0, i, 160 * i, 0x9999, bytes([0xFF]) * 160)
    stream += bytes([0, 1, len(out)]) + out
for j in range(4):
    end = j >= 2
    ev = bytes([1, 0x8A if end else 0x0A]) + struct.pack('!H', 160 * (j + 1))
    pkt = rtp(101, 100 + min(j, 2), 4000, 0x7777, ev, marker=(j == 0))
    stream += bytes([20, 0, len(pkt)]) + pkt
write('media_stream', 'relay-and-digit', stream)

# rfc4733: records of [gap_ms / 4, len, datagram]; SIPp's shape twice
# (the second a byte-identical replay), then a digit whose end is lost.
events = b''
for replay in range(2):
    for j in range(11):
        end = j >= 8
        ev = bytes([5, 0x8A if end else 0x0A]) + struct.pack('!H', 160 * (min(j, 8) + 1))
        pkt = rtp(101, 10 + min(j, 8), 8000, 0x5555, ev, marker=(j == 0))
        events += bytes([5, len(pkt)]) + pkt
for j in range(5):
    ev = bytes([11, 0x0A]) + struct.pack('!H', 160 * (j + 1))
    pkt = rtp(101, 40 + j, 16000, 0x5555, ev, marker=(j == 0))
    events += bytes([5, len(pkt)]) + pkt
write('rfc4733', 'sipp-replay-and-lost-end', events)

# dtmf_info: first byte picks the content type (0 dtmf-relay, 1 dtmf).
write('dtmf_info', 'relay', b'\x00Signal=5\r\nDuration=160\r\n')
write('dtmf_info', 'dtmf', b'\x01#\r\n')
