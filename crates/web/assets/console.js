// callward console: a little progressive help; every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Put the keyboard where the work is: the first field with an error, else
  // the page's first empty field marked autofocus by the server.
  const error = document.getElementById('error');
  if (error) {
    const field = document.querySelector('main input:not([type=hidden])');
    if (field) field.focus();
  }
  // A code field accepts digits only as the person types (the server checks anyway).
  for (const input of document.querySelectorAll('input[inputmode=numeric]')) {
    input.addEventListener('input', () => { input.value = input.value.replace(/\D/g, '').slice(0, 6); });
  }
});

// Live monitoring (/console/live): each "Listen" form opens the call's audio
// over a WebSocket (G.711 A-law, 8 kHz, two channels) and plays it. Without
// script the page still lists the calls; listening needs it.
document.addEventListener('DOMContentLoaded', () => {
  // A-law to linear (ITU-T G.711), as a table of 256 samples in [-1, 1).
  const alaw = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const a = i ^ 0x55;
    const exponent = (a & 0x70) >> 4;
    let magnitude = ((a & 0x0f) << 4) + 8;
    if (exponent !== 0) magnitude = (magnitude + 0x100) << (exponent - 1);
    alaw[i] = ((a & 0x80) ? magnitude : -magnitude) / 32768;
  }
  for (const form of document.querySelectorAll('form[data-live]')) {
    const status = form.querySelector('.live-status');
    const stop = form.querySelector('.stop');
    const listen = form.querySelector('button[type=submit]');
    let socket = null;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (socket) return;
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const url = `${scheme}//${location.host}/console/live/${encodeURIComponent(form.dataset.live)}/audio?case=${encodeURIComponent(form.elements.case.value)}`;
      const audio = new AudioContext();
      let at = 0;
      let bytes = 0;
      socket = new WebSocket(url);
      socket.binaryType = 'arraybuffer';
      listen.disabled = true;
      stop.disabled = false;
      status.textContent = 'Connecting…';
      socket.addEventListener('message', (m) => {
        if (typeof m.data === 'string') {
          status.textContent = 'Listening (logged).';
          return;
        }
        const chunk = new Uint8Array(m.data);
        bytes += chunk.length;
        status.dataset.bytes = String(bytes);
        status.textContent = `Listening (logged): ${(bytes / 16000).toFixed(1)} s received.`;
        const frames = chunk.length >> 1;
        if (frames === 0) return;
        const buffer = audio.createBuffer(2, frames, 8000);
        const left = buffer.getChannelData(0);
        const right = buffer.getChannelData(1);
        for (let i = 0; i < frames; i++) {
          left[i] = alaw[chunk[2 * i]];
          right[i] = alaw[chunk[2 * i + 1]];
        }
        const source = audio.createBufferSource();
        source.buffer = buffer;
        source.connect(audio.destination);
        // A little behind real time, so chunks play back to back.
        at = Math.max(at, audio.currentTime + 0.2);
        source.start(at);
        at += buffer.duration;
      });
      socket.addEventListener('close', () => {
        status.textContent = bytes > 0 ? `Ended: ${(bytes / 16000).toFixed(1)} s received.` : 'Not allowed, or the call ended.';
        status.dataset.ended = 'true';
        listen.disabled = false;
        stop.disabled = true;
        socket = null;
        audio.close();
      });
    });
    stop.addEventListener('click', () => { if (socket) socket.close(); });
  }
});
