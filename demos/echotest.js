/*
 * Echo test demo: janus.js against the janus.plugin.echotest plugin of the gateway serving this page.
 *
 * Servers, tried in order: ws://<host>:8188/ (wss://<host>:8989/ on an https page), then
 * <page origin>/janus (HTTP long-poll). Query parameters:
 *   ?transport=ws | ?transport=http   use only that transport
 *   ?ws=PORT                          WebSocket port
 *
 * Everything shown that comes from the network is written with textContent, never as HTML.
 * For automated tests: #status has data-state (idle, connecting, connected, attached, negotiating,
 * webrtcup, hangup, stopped, error); each counter cell has data-stat="<kind>-<counter>" and data-value,
 * and #stats has data-round, a count of the getStats rounds done;
 * #remote-resolution has data-width / data-height; #datachannel has data-state; #datarecv holds
 * li.recv items with the replies.
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    start: $('start'),
    stop: $('stop'),
    status: $('status'),
    server: $('server'),
    error: $('error'),
    audio: $('toggle-audio'),
    video: $('toggle-video'),
    bitrate: $('bitrate'),
    localVideo: $('localvideo'),
    localFrame: $('local-frame'),
    localRes: $('local-resolution'),
    remoteVideo: $('remotevideo'),
    remoteFrame: $('remote-frame'),
    remoteRes: $('remote-resolution'),
    dcState: $('datachannel'),
    dcForm: $('datasend-form'),
    dcInput: $('datasend'),
    dcButton: $('datasend-button'),
    dcLog: $('datarecv'),
    stats: $('stats'),
  };

  const servers = serverList(new URLSearchParams(location.search));
  const MAX_MESSAGES = 200;

  let janus = null;
  let echotest = null;
  let statsTimer = null;
  let lastBytesIn = { audio: 0, video: 0, at: 0 };
  let localStream = null;
  let remoteStream = null;

  function serverList(q) {
    return window.portunusServerList(q);
  }

  function setStatus(state, detail) {
    el.status.dataset.state = state;
    el.status.textContent = state;
    el.status.title = detail || '';
  }

  function showError(message) {
    el.error.textContent = message ? String(message) : '';
  }

  function setControls(running) {
    el.start.disabled = running;
    el.stop.disabled = !running;
    for (const c of [el.audio, el.video, el.bitrate]) c.disabled = !running;
  }

  function setDataChannel(open) {
    el.dcState.dataset.state = open ? 'open' : 'closed';
    el.dcState.textContent = open ? 'open' : 'closed';
    el.dcInput.disabled = !open;
    el.dcButton.disabled = !open;
  }

  function addMessage(kind, text) {
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = text;
    el.dcLog.appendChild(li);
    while (el.dcLog.children.length > MAX_MESSAGES) el.dcLog.firstChild.remove();
    el.dcLog.scrollTop = el.dcLog.scrollHeight;
  }

  function setStat(kind, name, value) {
    const cell = document.querySelector(`[data-stat="${kind}-${name}"]`);
    if (!cell) return;
    cell.dataset.value = String(value);
    cell.textContent = Number(value).toLocaleString('en-US');
  }

  function resetView() {
    for (const cell of document.querySelectorAll('[data-stat]')) {
      cell.dataset.value = '0';
      cell.textContent = '0';
    }
    el.localVideo.srcObject = null;
    el.remoteVideo.srcObject = null;
    el.localFrame.classList.remove('live');
    el.remoteFrame.classList.remove('live');
    el.localRes.textContent = '';
    el.remoteRes.textContent = '';
    el.remoteRes.dataset.width = '0';
    el.remoteRes.dataset.height = '0';
    el.audio.checked = true;
    el.video.checked = true;
    el.bitrate.value = '0';
    localStream = null;
    remoteStream = null;
    lastBytesIn = { audio: 0, video: 0, at: 0 };
    setDataChannel(false);
  }

  async function pollStats() {
    const pc = echotest && echotest.webrtcStuff && echotest.webrtcStuff.pc;
    if (!pc) return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const sum = {
      audio: { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 },
      video: { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 },
    };
    report.forEach((s) => {
      const kind = s.kind || s.mediaType;
      if (!sum[kind]) return;
      if (s.type === 'outbound-rtp') {
        sum[kind].packetsSent += s.packetsSent || 0;
        sum[kind].bytesSent += s.bytesSent || 0;
      } else if (s.type === 'inbound-rtp') {
        sum[kind].packetsReceived += s.packetsReceived || 0;
        sum[kind].bytesReceived += s.bytesReceived || 0;
      }
    });
    const now = performance.now();
    for (const kind of ['audio', 'video']) {
      for (const [name, value] of Object.entries(sum[kind])) setStat(kind, name, value);
      if (lastBytesIn.at > 0) {
        const kbps = Math.max(0, Math.round(((sum[kind].bytesReceived - lastBytesIn[kind]) * 8) / (now - lastBytesIn.at)));
        setStat(kind, 'kbpsIn', kbps);
      }
      lastBytesIn[kind] = sum[kind].bytesReceived;
    }
    lastBytesIn.at = now;
    el.stats.dataset.round = String(Number(el.stats.dataset.round || '0') + 1);
    showResolution(el.localVideo, el.localRes);
    showResolution(el.remoteVideo, el.remoteRes);
  }

  function showResolution(video, label) {
    const w = video.videoWidth || 0;
    const h = video.videoHeight || 0;
    label.dataset.width = String(w);
    label.dataset.height = String(h);
    label.textContent = w > 0 ? `${w}×${h}` : '';
  }

  function attachTrack(which, track, on) {
    const video = which === 'local' ? el.localVideo : el.remoteVideo;
    const frame = which === 'local' ? el.localFrame : el.remoteFrame;
    let stream = which === 'local' ? localStream : remoteStream;
    if (!stream) {
      stream = new MediaStream();
      if (which === 'local') localStream = stream;
      else remoteStream = stream;
    }
    for (const t of stream.getTracks()) {
      if (t.id === track.id || (on && t.kind === track.kind)) stream.removeTrack(t);
    }
    if (on) stream.addTrack(track);
    if (video.srcObject !== stream) Janus.attachMediaStream(video, stream);
    const hasVideo = stream.getVideoTracks().length > 0;
    frame.classList.toggle('live', hasVideo);
    video.play().catch(() => {});
  }

  function send(message) {
    if (echotest) echotest.send({ message });
  }

  function start() {
    showError('');
    setControls(true);
    setStatus('connecting');
    Janus.init({
      debug: ['warn', 'error'],
      callback: () => {
        if (!Janus.isWebrtcSupported()) {
          fail('This browser does not support WebRTC');
          return;
        }
        const session = new Janus({
          server: servers,
          // Only host candidates: no public STUN server (janus.js would add Google's otherwise).
          iceServers: [],
          success: () => {
            if (session !== janus) return;
            el.server.textContent = session.getServer();
            el.server.dataset.server = session.getServer();
            setStatus('connected');
            attach();
          },
          error: (err) => {
            if (session === janus) fail(`Gateway: ${describe(err)}`);
          },
        });
        janus = session;
      },
    });
  }

  function attach() {
    const session = janus;
    let handle = null;
    // Callbacks of a handle whose session was stopped meanwhile leave the page alone.
    const current = () => handle !== null && handle === echotest;
    session.attach({
      plugin: 'janus.plugin.echotest',
      opaqueId: `echotest-${Janus.randomString(12)}`,
      success: (h) => {
        if (session !== janus) {
          h.detach();
          return;
        }
        handle = h;
        echotest = h;
        setStatus('attached');
        offer();
      },
      error: (err) => {
        if (session === janus) fail(`Attach: ${describe(err)}`);
      },
      iceState: (state) => {
        if (current()) el.status.title = `ICE ${state}`;
      },
      webrtcState: (on, reason) => {
        if (!current()) return;
        if (on) setStatus('webrtcup');
        else setStatus('hangup', reason);
      },
      mediaState: (medium, receiving, mid) => {
        Janus.log(`gateway ${receiving ? 'receiving' : 'not receiving'} ${medium} (mid ${mid})`);
      },
      slowLink: (uplink, lost, mid) => {
        Janus.warn(`slow link (${uplink ? 'uplink' : 'downlink'}, mid ${mid}): ${lost} lost`);
      },
      onmessage: (msg, jsep) => {
        if (!current()) return;
        const data = msg || {};
        if (jsep) handle.handleRemoteJsep({ jsep, error: (err) => fail(`Answer rejected: ${describe(err)}`) });
        if (data.error) showError(`EchoTest: ${describe(data.error)}`);
        if (data.result === 'done') {
          setStatus('hangup', 'done');
          handle.hangup();
        }
      },
      onlocaltrack: (track, on) => {
        if (current()) attachTrack('local', track, on);
      },
      onremotetrack: (track, mid, on) => {
        if (current()) attachTrack('remote', track, on);
      },
      ondataopen: () => {
        if (current()) setDataChannel(true);
      },
      ondata: (data) => {
        if (current()) addMessage('recv', typeof data === 'string' ? data : '[binary data]');
      },
      oncleanup: () => {
        if (!current()) return;
        stopStats();
        setDataChannel(false);
        el.localFrame.classList.remove('live');
        el.remoteFrame.classList.remove('live');
      },
    });
  }

  function offer() {
    const handle = echotest;
    setStatus('negotiating');
    handle.createOffer({
      tracks: [
        { type: 'audio', capture: true, recv: true },
        { type: 'video', capture: true, recv: true },
        { type: 'data' },
      ],
      success: (jsep) => {
        if (handle !== echotest) return;
        handle.send({ message: { audio: true, video: true }, jsep });
        startStats();
      },
      error: (err) => {
        if (handle === echotest) fail(`Offer: ${describe(err)}`);
      },
    });
  }

  function startStats() {
    stopStats();
    statsTimer = setInterval(pollStats, 1000);
  }

  function stopStats() {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
  }

  function stop() {
    stopStats();
    setControls(false);
    const j = janus;
    const h = echotest;
    janus = null;
    echotest = null;
    // Close the PeerConnection and release camera and microphone here, whatever the transport
    // delivers after the session is gone; then destroy the session (the gateway detaches the handle).
    if (h) h.hangup();
    if (j) j.destroy();
    setStatus('stopped');
    resetView();
  }

  function fail(message) {
    showError(message);
    setStatus('error', message);
    stopStats();
    const j = janus;
    const h = echotest;
    janus = null;
    echotest = null;
    // Close the PeerConnection and release camera and microphone here, whatever the transport
    // delivers after the session is gone; then destroy the session (the gateway detaches the handle).
    if (h) h.hangup();
    if (j) j.destroy();
    setControls(false);
  }

  function describe(err) {
    if (err == null) return 'unknown error';
    if (typeof err === 'string') return err;
    if (err.message) return err.message;
    try {
      return JSON.stringify(err);
    } catch {
      return String(err);
    }
  }

  el.start.addEventListener('click', start);
  el.stop.addEventListener('click', stop);
  el.audio.addEventListener('change', () => send({ audio: el.audio.checked }));
  el.video.addEventListener('change', () => send({ video: el.video.checked }));
  el.bitrate.addEventListener('change', () => send({ bitrate: Number(el.bitrate.value) }));
  el.dcForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = el.dcInput.value;
    if (!text || !echotest) return;
    echotest.data({
      text,
      success: () => {
        addMessage('sent', text);
        el.dcInput.value = '';
      },
      error: (err) => showError(`Data channel: ${describe(err)}`),
    });
  });
  el.remoteVideo.addEventListener('resize', () => showResolution(el.remoteVideo, el.remoteRes));
  el.localVideo.addEventListener('resize', () => showResolution(el.localVideo, el.localRes));
  resetView();
})();
