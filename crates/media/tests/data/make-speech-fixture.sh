#!/bin/sh
# Regenerates speech.al: about 8 s of synthetic speech (English and
# Spanish, low and high voices) as raw 8 kHz A-law, for the in-band DTMF
# talk-off test. Needs the Debian packages espeak-ng and sox.
#
#   sh crates/media/tests/data/make-speech-fixture.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -p 30 -s 170 -w "$tmp/1.wav" \
    "Please enter your PIN followed by the pound key. You have nine minutes remaining."
espeak-ng -v en+f3 -p 85 -s 160 -w "$tmp/2.wav" \
    "Hello, this is a call from the county jail. Press one to accept."
espeak-ng -v es -p 60 -s 165 -w "$tmp/3.wav" \
    "Esta llamada será grabada. Marque uno para aceptar."
for i in 1 2 3; do
    sox "$tmp/$i.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/$i.8k.wav"
done
sox "$tmp/1.8k.wav" "$tmp/2.8k.wav" "$tmp/3.8k.wav" -t al -r 8000 -c 1 speech.al
ls -l speech.al
