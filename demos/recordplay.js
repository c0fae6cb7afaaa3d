/*
 * Record & Play demo: janus.js against janus.plugin.recordplay. `record` sends our offer and gets
 * a recvonly answer; `stop` ends it (the gateway writes the .nfo); `list` shows finished recordings;
 * `play` gets the gateway's offer, `start` sends our answer; pause/resume/stop work on both.
 * Uses conf-common.js (PortunusDemo).
 */
'use strict';

(function () {
  const D = window.PortunusDemo;
  const $ = (id) => document.getElementById(id);
  const el = {
    recordForm: $('record-form'), name: $('name'), record: $('record'), stop: $('stop'), pause: $('pause'),
    status: $('status'), recid: $('recid'), error: $('error'), refresh: $('refresh'), list: $('recordings'),
    localVideo: $('localvideo'), remoteVideo: $('remotevideo'), stats: $('stats'),
  };

  let handle = null;
  let busy = false;
  let paused = false;
  const stats = D.statsPoller(el.stats, () => handle);

  function showError(message) {
    el.error.textContent = message ? String(message) : '';
  }

  function setBusy(on) {
    busy = on;
    el.record.disabled = on;
    el.stop.disabled = !on;
    el.pause.disabled = !on;
    for (const b of el.list.querySelectorAll('button')) b.disabled = on;
    if (!on) {
      paused = false;
      el.pause.textContent = 'Pause';
    }
  }

  function setRecording(id) {
    el.recid.dataset.id = id ? String(id) : '';
    el.recid.textContent = id ? String(id) : '–';
  }

  function refresh() {
    if (!handle) return;
    handle.send({
      message: { request: 'list' },
      success: (res) => {
        el.list.textContent = '';
        for (const r of (res && res.list) || []) {
          const li = document.createElement('li');
          li.dataset.id = String(r.id);
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = 'Play';
          button.disabled = busy;
          button.addEventListener('click', () => play(r.id));
          const label = document.createElement('span');
          label.textContent = ` ${r.name} (${r.date}; ${[r.audio_codec, r.video_codec].filter(Boolean).join(', ')})`;
          li.append(button, label);
          el.list.appendChild(li);
        }
      },
      error: (err) => showError(`List: ${D.describe(err)}`),
    });
  }

  function onMessage(msg, jsep) {
    const data = msg || {};
    if (data.error) {
      showError(`Record&Play: ${data.error} (${data.error_code})`);
      setBusy(false);
      D.setState(el.status, 'error', data.error);
      return;
    }
    if (data.result === 'done') {
      D.setState(el.status, 'done');
      stats.stop();
      handle.hangup();
      setBusy(false);
      refresh();
      return;
    }
    const result = data.result || {};
    if (result.status === 'recording' || result.status === 'preparing') setRecording(result.id);
    if (result.status) D.setState(el.status, result.status);
    if (!jsep) return;
    if (jsep.type === 'answer') {
      handle.handleRemoteJsep({ jsep, error: (err) => showError(`Answer rejected: ${D.describe(err)}`) });
      return;
    }
    // A playback offer: receive only.
    handle.createAnswer({
      jsep,
      tracks: [{ type: 'audio', capture: false, recv: true }, { type: 'video', capture: false, recv: true }],
      success: (answer) => handle.send({ message: { request: 'start' }, jsep: answer }),
      error: (err) => showError(`Answer: ${D.describe(err)}`),
    });
  }

  function record(name) {
    showError('');
    setBusy(true);
    handle.createOffer({
      tracks: [{ type: 'audio', capture: true, recv: false }, { type: 'video', capture: true, recv: false }],
      success: (jsep) => handle.send({ message: { request: 'record', name }, jsep }),
      error: (err) => {
        showError(`Offer: ${D.describe(err)}`);
        setBusy(false);
      },
    });
  }

  function play(id) {
    showError('');
    setBusy(true);
    handle.send({ message: { request: 'play', id } });
  }

  async function start() {
    D.setState(el.status, 'connecting');
    let janus;
    try {
      janus = await D.connect();
    } catch (err) {
      showError(`Gateway: ${D.describe(err)}`);
      D.setState(el.status, 'error');
      return;
    }
    janus.attach({
      plugin: 'janus.plugin.recordplay',
      opaqueId: `recordplay-${Janus.randomString(12)}`,
      success: (h) => {
        handle = h;
        D.setState(el.status, 'ready');
        refresh();
      },
      error: (err) => showError(`Attach: ${D.describe(err)}`),
      webrtcState: (on) => {
        if (on) stats.start();
      },
      onmessage: onMessage,
      onlocaltrack: (track, on) => D.attachTrack(el.localVideo, track, on),
      onremotetrack: (track, mid, on) => D.attachTrack(el.remoteVideo, track, on),
      oncleanup: () => stats.stop(),
    });
  }

  el.recordForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = el.name.value.trim();
    if (name && handle && !busy) record(name);
  });
  el.stop.addEventListener('click', () => handle && handle.send({ message: { request: 'stop' } }));
  el.pause.addEventListener('click', () => {
    if (!handle) return;
    paused = !paused;
    el.pause.textContent = paused ? 'Resume' : 'Pause';
    handle.send({ message: { request: paused ? 'pause' : 'resume' } });
  });
  el.refresh.addEventListener('click', refresh);
  start();
})();
