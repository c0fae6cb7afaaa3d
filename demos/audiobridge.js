/*
 * Audio bridge demo: janus.js against the janus.plugin.audiobridge plugin of the gateway serving
 * this page. Join a room, hear everybody else (mix-minus), mute yourself, see who is there.
 *
 * Servers, tried in order: ws://<host>:8188/ (wss://<host>:8989/ on an https page), then
 * <page origin>/janus. Query parameters: ?transport=ws|http, ?ws=PORT, ?room=N, ?display=NAME,
 * ?autostart=1 (join at once).
 *
 * Everything shown that comes from the network is written with textContent, never as HTML.
 * For automated tests: #status has data-state (idle, connecting, attached, joined, webrtcup,
 * hangup, left, error); #participants has data-count and li[data-id] items; #packets, #energy and
 * #level have data-value (inbound RTP packets, totalAudioEnergy and audioLevel from getStats).
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    room: $('room'), display: $('display'), start: $('start'), stop: $('stop'), mute: $('mute'),
    status: $('status'), server: $('server'), error: $('error'), participants: $('participants'),
    audio: $('remoteaudio'), packets: $('packets'), energy: $('energy'), level: $('level'),
  };
  const q = new URLSearchParams(location.search);
  if (/^\d{1,16}$/.test(q.get('room') || '')) el.room.value = q.get('room');
  if (q.get('display')) el.display.value = q.get('display').slice(0, 40);

  let janus = null;
  let bridge = null;
  let myId = null;
  let muted = false;
  let statsTimer = null;
  const people = new Map();

  function servers() {
    return window.portunusServerList(q);
  }

  function setStatus(state, detail) {
    el.status.dataset.state = state;
    el.status.textContent = detail ? `${state} (${detail})` : state;
  }

  function showError(text) {
    el.error.textContent = text;
  }

  function describe(err) {
    if (typeof err === 'string') return err;
    if (err && err.message) return err.message;
    try { return JSON.stringify(err); } catch { return String(err); }
  }

  function fail(text) {
    showError(text);
    setStatus('error');
  }

  function setControls(running) {
    el.start.disabled = running;
    el.stop.disabled = !running;
    el.mute.disabled = !running;
    el.room.disabled = running;
    el.display.disabled = running;
  }

  function renderPeople() {
    el.participants.replaceChildren();
    for (const [id, p] of people) {
      const li = document.createElement('li');
      li.dataset.id = String(id);
      li.dataset.muted = String(!!p.muted);
      li.textContent = `${p.display || `participant ${id}`}${p.muted ? ' (muted)' : ''}${p.talking ? ' · talking' : ''}`;
      el.participants.appendChild(li);
    }
    el.participants.dataset.count = String(people.size);
  }

  function updatePeople(list) {
    for (const p of list || []) {
      if (p.id === myId) continue;
      people.set(p.id, { ...(people.get(p.id) || {}), ...p });
    }
    renderPeople();
  }

  function start() {
    showError('');
    setControls(true);
    setStatus('connecting');
    Janus.init({
      debug: ['warn', 'error'],
      callback: () => {
        const session = new Janus({
          server: servers(),
          iceServers: [], // host candidates only: no public STUN server
          success: () => {
            if (session !== janus) return;
            el.server.textContent = session.getServer();
            el.server.dataset.server = session.getServer();
            attach();
          },
          error: (err) => { if (session === janus) fail(`Gateway: ${describe(err)}`); },
        });
        janus = session;
      },
    });
  }

  function attach() {
    const session = janus;
    let handle = null;
    const current = () => handle !== null && handle === bridge;
    session.attach({
      plugin: 'janus.plugin.audiobridge',
      opaqueId: `audiobridge-${Janus.randomString(12)}`,
      success: (h) => {
        if (session !== janus) { h.detach(); return; }
        handle = h;
        bridge = h;
        setStatus('attached');
        const room = Number(el.room.value);
        const join = { request: 'join', room };
        if (el.display.value) join.display = el.display.value;
        h.send({ message: join, error: (err) => fail(`Join: ${describe(err)}`) });
      },
      error: (err) => { if (session === janus) fail(`Attach: ${describe(err)}`); },
      webrtcState: (on, reason) => {
        if (!current()) return;
        if (on) setStatus('webrtcup');
        else setStatus('hangup', reason);
      },
      onmessage: (msg, jsep) => {
        if (!current()) return;
        const data = msg || {};
        if (jsep) handle.handleRemoteJsep({ jsep, error: (err) => fail(`Answer rejected: ${describe(err)}`) });
        if (data.error) { showError(`AudioBridge: ${describe(data.error)}`); return; }
        switch (data.audiobridge) {
          case 'joined':
            if (data.id !== undefined) {
              myId = data.id;
              setStatus('joined');
              updatePeople(data.participants);
              offer();
            } else updatePeople(data.participants);
            break;
          case 'roomchanged':
            myId = data.id;
            people.clear();
            updatePeople(data.participants);
            break;
          case 'event':
            if (data.participants) updatePeople(data.participants);
            if (data.leaving !== undefined) { people.delete(data.leaving); renderPeople(); }
            if (data.kicked !== undefined) {
              if (data.kicked === myId) { setStatus('left', 'kicked'); stop(); } else { people.delete(data.kicked); renderPeople(); }
            }
            break;
          case 'talking':
          case 'stopped-talking': {
            const p = people.get(data.id);
            if (p) { p.talking = data.audiobridge === 'talking'; renderPeople(); }
            break;
          }
          case 'destroyed':
            setStatus('left', 'room destroyed');
            stop();
            break;
          default:
            break;
        }
      },
      onremotetrack: (track, mid, on) => {
        if (!current()) return;
        if (on && track.kind === 'audio') {
          el.audio.srcObject = new MediaStream([track]);
          el.audio.play().catch(() => {});
        }
      },
      oncleanup: () => { if (current()) stopStats(); },
    });
  }

  function offer() {
    const handle = bridge;
    handle.createOffer({
      tracks: [{ type: 'audio', capture: true, recv: true }],
      success: (jsep) => {
        if (handle !== bridge) return;
        handle.send({ message: { request: 'configure', muted }, jsep });
        startStats();
      },
      error: (err) => { if (handle === bridge) fail(`Offer: ${describe(err)}`); },
    });
  }

  function toggleMute() {
    if (!bridge) return;
    muted = !muted;
    bridge.send({ message: { request: 'configure', muted } });
    el.mute.textContent = muted ? 'Unmute' : 'Mute';
    el.mute.dataset.muted = String(muted);
  }

  function startStats() {
    stopStats();
    statsTimer = setInterval(pollStats, 500);
  }

  function stopStats() {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
  }

  async function pollStats() {
    const pc = bridge && bridge.webrtcStuff && bridge.webrtcStuff.pc;
    if (!pc) return;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
      const show = (cell, v, digits) => { cell.dataset.value = String(v); cell.textContent = digits ? Number(v).toFixed(digits) : String(v); };
      show(el.packets, s.packetsReceived || 0);
      show(el.energy, s.totalAudioEnergy || 0, 4);
      show(el.level, s.audioLevel || 0, 3);
    });
  }

  function stop() {
    stopStats();
    setControls(false);
    const j = janus;
    const h = bridge;
    janus = null;
    bridge = null;
    myId = null;
    people.clear();
    renderPeople();
    if (h) h.send({ message: { request: 'leave' } });
    if (j) setTimeout(() => j.destroy({}), 100);
    if (el.status.dataset.state !== 'left') setStatus('left');
  }

  el.start.addEventListener('click', start);
  el.stop.addEventListener('click', stop);
  el.mute.addEventListener('click', toggleMute);
  if (q.get('autostart') === '1') start();
})();
