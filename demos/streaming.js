/*
 * Streaming demo: janus.js against the janus.plugin.streaming plugin of the gateway serving this
 * page. Lists the mountpoints, watches one (the gateway offers, we answer receive-only), shows the
 * video and plays the audio, and reports getStats counters.
 *
 * Servers, tried in order: ws://<host>:8188/ (wss://<host>:8989/ on an https page), then
 * <page origin>/janus (HTTP long-poll). Query parameters: ?transport=ws|http, ?ws=PORT, ?id=N.
 *
 * Everything from the network is written with textContent, never as HTML. For automated tests:
 * #status has data-state (idle, connecting, attached, preparing, starting, started, stopped,
 * error); #mountpoints has data-loaded="1" once listed; counter cells have data-stat and
 * data-value; #resolution has data-width / data-height; #stats has data-round; on a simulcast
 * mountpoint #simulcast is shown and #substream has data-substream (the substream received).
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    list: $('mountpoints'), watch: $('watch'), stop: $('stop'), status: $('status'), server: $('server'), error: $('error'),
    video: $('remotevideo'), frame: $('frame'), res: $('resolution'), description: $('description'), stats: $('stats'), data: $('datarecv'),
    simulcast: $('simulcast'), substream: $('substream'),
  };
  const query = new URLSearchParams(location.search);
  const servers = serverList(query);
  const MAX_MESSAGES = 100;
  let janus = null;
  let streaming = null;
  let statsTimer = null;
  let stream = null;

  function serverList(q) {
    return window.portunusServerList(q);
  }

  function setStatus(state) {
    el.status.dataset.state = state;
    el.status.textContent = state;
  }

  function showError(message) {
    el.error.textContent = message ? String(message) : '';
  }

  function setStat(name, value) {
    const cell = document.querySelector(`[data-stat="${name}"]`);
    if (!cell) return;
    cell.dataset.value = String(value);
    cell.textContent = typeof value === 'number' ? Number(value).toLocaleString('en-US', { maximumFractionDigits: 4 }) : String(value);
  }

  function resetView() {
    for (const cell of document.querySelectorAll('[data-stat]')) {
      cell.dataset.value = cell.dataset.stat.endsWith('codec') ? '' : '0';
      cell.textContent = cell.dataset.stat.endsWith('codec') ? '–' : '0';
    }
    el.video.srcObject = null;
    el.frame.classList.remove('live');
    el.res.textContent = '';
    el.res.dataset.width = '0';
    el.res.dataset.height = '0';
    el.simulcast.style.display = 'none';
    el.substream.dataset.substream = '';
    el.substream.textContent = '–';
    stream = null;
  }

  function setPlaying(playing) {
    el.watch.disabled = playing || el.list.value === '';
    el.stop.disabled = !playing;
    el.list.disabled = playing;
  }

  function fillList(list) {
    el.list.textContent = '';
    for (const mp of list) {
      const opt = document.createElement('option');
      opt.value = String(mp.id);
      opt.textContent = `${mp.description || mp.id} (${mp.type})`;
      el.list.appendChild(opt);
    }
    if (list.length === 0) {
      const opt = document.createElement('option');
      opt.value = '';
      opt.textContent = 'No mountpoints';
      el.list.appendChild(opt);
    }
    const wanted = query.get('id');
    if (wanted && list.some((m) => String(m.id) === wanted)) el.list.value = wanted;
    el.list.disabled = list.length === 0;
    el.list.dataset.loaded = '1';
    setPlaying(false);
  }

  async function pollStats() {
    const pc = streaming && streaming.webrtcStuff && streaming.webrtcStuff.pc;
    if (!pc) return;
    const report = await pc.getStats();
    const codecs = new Map();
    report.forEach((s) => { if (s.type === 'codec') codecs.set(s.id, s.mimeType); });
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const kind = s.kind || s.mediaType;
      setStat(`${kind}-packetsReceived`, s.packetsReceived || 0);
      setStat(`${kind}-bytesReceived`, s.bytesReceived || 0);
      if (s.codecId && codecs.has(s.codecId)) setStat(`${kind}-codec`, codecs.get(s.codecId));
      if (kind === 'audio') setStat('audio-totalAudioEnergy', s.totalAudioEnergy || 0);
      if (kind === 'video') setStat('video-frameWidth', s.frameWidth || 0);
    });
    el.stats.dataset.round = String(Number(el.stats.dataset.round || '0') + 1);
    if (el.video.videoWidth > 0) {
      el.res.dataset.width = String(el.video.videoWidth);
      el.res.dataset.height = String(el.video.videoHeight);
      el.res.textContent = `${el.video.videoWidth}×${el.video.videoHeight}`;
    }
  }

  function onRemoteTrack(track, mid, on) {
    if (!on) return;
    if (!stream) stream = new MediaStream();
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    if (el.video.srcObject !== stream) Janus.attachMediaStream(el.video, stream);
    el.frame.classList.add('live');
    el.video.play().catch(() => {});
  }

  function onMessage(msg, jsep) {
    const result = msg.result || {};
    if (msg.error) {
      showError(`${msg.error_code}: ${msg.error}`);
      return;
    }
    if (typeof result.substream === 'number') {
      el.substream.dataset.substream = String(result.substream);
      el.substream.textContent = String(result.substream);
    }
    if (result.status) {
      setStatus(result.status);
      if (result.status === 'stopped') stopWatching(false);
    }
    if (jsep) {
      streaming.createAnswer({
        jsep,
        // Receive only: no camera, no microphone; a data channel when the mountpoint has one.
        tracks: [{ type: 'data' }],
        success: (answer) => streaming.send({ message: { request: 'start' }, jsep: answer }),
        error: (err) => showError(`WebRTC error: ${err && err.message ? err.message : err}`),
      });
    }
  }

  function watch() {
    const id = el.list.value;
    if (!id) return;
    showError('');
    resetView();
    setPlaying(true);
    setStatus('preparing');
    const numeric = /^\d+$/.test(id) ? Number(id) : id;
    streaming.send({
      message: { request: 'info', id: numeric },
      success: (r) => {
        const info = (r && r.info) || {};
        el.description.textContent = info.description || '';
        // Simulcast mountpoints: let the viewer pick a quality (configure substream).
        el.simulcast.style.display = (info.media || []).some((m) => m.videosimulcast === true) ? '' : 'none';
      },
    });
    streaming.send({ message: { request: 'watch', id: numeric } });
    statsTimer = setInterval(() => { pollStats().catch(() => {}); }, 1000);
  }

  function stopWatching(send) {
    if (send && streaming) streaming.send({ message: { request: 'stop' } });
    if (streaming) streaming.hangup();
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
    setPlaying(false);
  }

  function attach() {
    janus.attach({
      plugin: 'janus.plugin.streaming',
      opaqueId: `streaming-${Janus.randomString(12)}`,
      success: (handle) => {
        streaming = handle;
        setStatus('attached');
        streaming.send({ message: { request: 'list' }, success: (r) => fillList((r && r.list) || []) });
      },
      error: (err) => { setStatus('error'); showError(`Attach failed: ${err}`); },
      onmessage: onMessage,
      onremotetrack: onRemoteTrack,
      ondata: (data) => {
        const li = document.createElement('li');
        li.className = 'recv';
        li.textContent = String(data);
        el.data.appendChild(li);
        while (el.data.children.length > MAX_MESSAGES) el.data.firstChild.remove();
      },
      oncleanup: () => { resetView(); },
    });
  }

  el.watch.addEventListener('click', watch);
  el.stop.addEventListener('click', () => { stopWatching(true); setStatus('stopped'); });
  el.list.addEventListener('change', () => setPlaying(false));
  for (const button of el.simulcast.querySelectorAll('button[data-substream]')) {
    button.addEventListener('click', () => {
      if (streaming) streaming.send({ message: { request: 'configure', substream: Number(button.dataset.substream) } });
    });
  }

  Janus.init({
    debug: false,
    callback: () => {
      if (!Janus.isWebrtcSupported()) {
        setStatus('error');
        showError('This browser has no WebRTC.');
        return;
      }
      setStatus('connecting');
      janus = new Janus({
        server: servers,
        success: () => {
          el.server.dataset.server = janus.getServer();
          el.server.textContent = janus.getServer();
          attach();
        },
        error: (err) => { setStatus('error'); showError(`Gateway error: ${err}`); },
        destroyed: () => setStatus('idle'),
      });
    },
  });
})();
