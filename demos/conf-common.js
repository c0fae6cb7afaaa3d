/*
 * Pieces shared by the VideoCall, TextRoom and Record&Play demo pages: which servers to try, a
 * janus.js session, readable errors, status pills, remote media streams and getStats counters.
 *
 * Servers, tried in order: ws://<host>:8188/ (wss://<host>:8989/ on an https page), then
 * <page origin>/janus (HTTP long-poll). Query parameters: ?transport=ws|http, ?ws=PORT.
 * Everything from the network is shown with textContent, never as HTML.
 */
'use strict';

window.PortunusDemo = (function () {
  function servers() {
    return window.portunusServerList(new URLSearchParams(location.search));
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

  /** Set a status pill: data-state for tests, text for people. */
  function setState(el, state, detail) {
    el.dataset.state = state;
    el.textContent = state;
    el.title = detail || '';
  }

  /** A janus.js session on the first server that answers; resolves with it. */
  function connect(onServer) {
    return new Promise((resolve, reject) => {
      Janus.init({
        debug: ['warn', 'error'],
        callback: () => {
          if (!Janus.isWebrtcSupported()) {
            reject(new Error('This browser does not support WebRTC'));
            return;
          }
          const session = new Janus({
            server: servers(),
            // Only host candidates: no public STUN server (janus.js would add Google's otherwise).
            iceServers: [],
            success: () => {
              if (onServer) onServer(session.getServer());
              resolve(session);
            },
            error: (err) => reject(new Error(describe(err))),
          });
        },
      });
    });
  }

  /** Keep one MediaStream per <video>, replacing a track of the same kind. */
  function attachTrack(video, track, on) {
    let stream = video.srcObject instanceof MediaStream ? video.srcObject : null;
    if (!stream) stream = new MediaStream();
    for (const t of stream.getTracks()) {
      if (t.id === track.id || (on && t.kind === track.kind)) stream.removeTrack(t);
    }
    if (on) stream.addTrack(track);
    if (video.srcObject !== stream) Janus.attachMediaStream(video, stream);
    video.play().catch(() => {});
  }

  /**
   * Every second, sum inbound/outbound RTP of a handle's PeerConnection into cells
   * [data-stat="<kind>-<counter>"] (data-value holds the number); table.dataset.round counts rounds.
   */
  function statsPoller(table, getHandle) {
    let timer = null;
    if (!table.querySelector('[data-stat]')) fillStatsTable(table);
    async function poll() {
      const handle = getHandle();
      const pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
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
      for (const kind of ['audio', 'video']) {
        for (const [name, value] of Object.entries(sum[kind])) {
          const cell = table.querySelector(`[data-stat="${kind}-${name}"]`);
          if (!cell) continue;
          cell.dataset.value = String(value);
          cell.textContent = Number(value).toLocaleString('en-US');
        }
      }
      table.dataset.round = String(Number(table.dataset.round || '0') + 1);
    }
    return {
      start() {
        if (!timer) timer = setInterval(poll, 1000);
      },
      stop() {
        if (timer) clearInterval(timer);
        timer = null;
      },
    };
  }

  /** The counter table: a row per kind, a cell per counter, all at 0. */
  function fillStatsTable(table) {
    const counters = ['packetsSent', 'bytesSent', 'packetsReceived', 'bytesReceived'];
    const head = table.createTHead().insertRow();
    for (const title of ['', 'Packets sent', 'Bytes sent', 'Packets received', 'Bytes received']) head.appendChild(document.createElement('th')).textContent = title;
    const body = table.createTBody();
    for (const kind of ['audio', 'video']) {
      const row = body.insertRow();
      row.insertCell().textContent = kind === 'audio' ? 'Audio' : 'Video';
      for (const c of counters) {
        const cell = row.insertCell();
        cell.dataset.stat = `${kind}-${c}`;
        cell.dataset.value = '0';
        cell.textContent = '0';
      }
    }
  }

  /** Append a line to a list, keeping the last `max`. */
  function addLine(list, kind, text, max = 200) {
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = text;
    list.appendChild(li);
    while (list.children.length > max) list.firstChild.remove();
    list.scrollTop = list.scrollHeight;
    return li;
  }

  return { servers, describe, setState, connect, attachTrack, statsPoller, addLine };
})();
