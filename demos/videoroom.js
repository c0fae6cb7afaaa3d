/*
 * Video room demo: janus.js against janus.plugin.videoroom of the gateway serving this page.
 * One handle publishes camera and microphone; one more handle subscribes, with the multistream API,
 * to every stream of every other publisher (from the `streams` of the `publishers` events), and
 * renegotiates when feeds come and go (`updated` offers).
 *
 * Servers as in the echo test: ws://<host>:8188/ then <origin>/janus; ?transport=, ?ws=PORT.
 * For automated tests: #status data-state (idle, connecting, joined, publishing, stopped, error);
 * every remote feed is a section.remote[data-feed=<id>] holding video[data-mid] / audio[data-mid];
 * #stats cells data-stat="<kind>-<counter>" with data-value (subscriber PeerConnection inbound),
 * #stats data-audio-energy (totalAudioEnergy of the decoded remote audio) and data-round.
 * Everything from the network is shown with textContent.
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    start: $('start'), stop: $('stop'), status: $('status'), server: $('server'), error: $('error'),
    display: $('display'), room: $('room'), me: $('me'), localVideo: $('localvideo'), localFrame: $('local-frame'),
    videos: $('videos'), stats: $('stats'),
  };
  const q = new URLSearchParams(location.search);
  const servers = PortunusDemo.serverList(q);
  if (/^\d{1,15}$/.test(q.get('room') || '')) el.room.value = q.get('room');
  el.display.value = (q.get('display') || `guest-${Math.floor(Math.random() * 1000)}`).slice(0, 64);

  let janus = null;
  let publisher = null;
  let subscriber = null;
  let subscriberJoining = false;
  let room = 0;
  let myId = null;
  let privateId = null;
  let statsTimer = null;
  /** feed id -> display; subscribed streams by our mid: { feed, feedMid, type }. */
  const feeds = new Map();
  const subStreams = new Map();
  const pendingSubscribe = [];

  function setStatus(state, detail) {
    PortunusDemo.setStatus(el.status, state, detail);
  }

  function describe(err) {
    if (!err) return 'unknown error';
    if (typeof err === 'string') return err;
    return err.message || err.error || JSON.stringify(err);
  }

  function fail(message) {
    el.error.textContent = String(message);
    setStatus('error', String(message));
  }

  const setStat = PortunusDemo.setStat;

  async function pollStats() {
    const pc = subscriber && subscriber.webrtcStuff && subscriber.webrtcStuff.pc;
    if (!pc) return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const sum = { audio: { packetsReceived: 0, bytesReceived: 0 }, video: { packetsReceived: 0, bytesReceived: 0, framesDecoded: 0 } };
    let energy = 0;
    report.forEach((s) => {
      const kind = s.kind || s.mediaType;
      if (s.type === 'inbound-rtp' && sum[kind]) {
        sum[kind].packetsReceived += s.packetsReceived || 0;
        sum[kind].bytesReceived += s.bytesReceived || 0;
        if (kind === 'video') sum.video.framesDecoded += s.framesDecoded || 0;
        if (kind === 'audio') energy += s.totalAudioEnergy || 0;
      }
    });
    // Decoded sound: the energy of what the audio decoder produced (0 for silence).
    el.stats.dataset.audioEnergy = String(energy);
    for (const kind of ['audio', 'video']) for (const [n, v] of Object.entries(sum[kind])) setStat(kind, n, v);
    el.stats.dataset.round = String(Number(el.stats.dataset.round || '0') + 1);
  }

  function feedSection(feed) {
    let section = document.querySelector(`section.remote[data-feed="${CSS.escape(String(feed))}"]`);
    if (section) return section;
    section = document.createElement('section');
    section.className = 'card video-card remote';
    section.dataset.feed = String(feed);
    const h2 = document.createElement('h2');
    h2.textContent = feeds.get(feed) || `Feed ${feed}`;
    const frame = document.createElement('div');
    frame.className = 'frame live';
    section.append(h2, frame);
    el.videos.appendChild(section);
    return section;
  }

  function removeFeed(feed) {
    feeds.delete(feed);
    const section = document.querySelector(`section.remote[data-feed="${CSS.escape(String(feed))}"]`);
    if (section) section.remove();
  }

  function start() {
    el.error.textContent = '';
    room = Number(el.room.value) || 1234;
    el.start.disabled = true;
    el.stop.disabled = false;
    setStatus('connecting');
    Janus.init({
      debug: ['warn', 'error'],
      callback: () => {
        if (!Janus.isWebrtcSupported()) return fail('This browser does not support WebRTC');
        janus = new Janus({
          server: servers,
          iceServers: [],
          success: () => {
            el.server.textContent = janus.getServer();
            el.server.dataset.server = janus.getServer();
            attachPublisher();
          },
          error: (err) => fail(`Gateway: ${describe(err)}`),
        });
      },
    });
  }

  function attachPublisher() {
    janus.attach({
      plugin: 'janus.plugin.videoroom',
      opaqueId: `videoroom-${Janus.randomString(12)}`,
      success: (h) => {
        publisher = h;
        ensureRoom();
      },
      error: (err) => fail(`Attach: ${describe(err)}`),
      webrtcState: (on) => {
        if (on) setStatus('publishing');
      },
      onlocaltrack: (track, on) => {
        if (track.kind !== 'video') return;
        if (!on) {
          el.localVideo.srcObject = null;
          el.localFrame.classList.remove('live');
          return;
        }
        Janus.attachMediaStream(el.localVideo, new MediaStream([track]));
        el.localFrame.classList.add('live');
      },
      onmessage: (msg, jsep) => onPublisherMessage(msg, jsep),
    });
  }

  /** Join the room, creating it first when it does not exist (a demo convenience). */
  function ensureRoom() {
    publisher.send({
      message: { request: 'exists', room },
      success: (r) => {
        if (r && r.exists) return join();
        publisher.send({ message: { request: 'create', room, publishers: 10 }, success: () => join(), error: (e) => fail(describe(e)) });
      },
      error: (e) => fail(describe(e)),
    });
  }

  function join() {
    publisher.send({ message: { request: 'join', room, ptype: 'publisher', display: el.display.value } });
  }

  function publishOwnFeed() {
    publisher.createOffer({
      tracks: [
        { type: 'audio', capture: true, recv: false },
        { type: 'video', capture: true, recv: false },
      ],
      success: (jsep) => publisher.send({ message: { request: 'configure', audio: true, video: true }, jsep }),
      error: (err) => fail(`WebRTC: ${describe(err)}`),
    });
  }

  function onPublisherMessage(msg, jsep) {
    const event = msg.videoroom;
    if (msg.error) {
      fail(`${msg.error_code}: ${msg.error}`);
    } else if (event === 'joined') {
      myId = msg.id;
      privateId = msg.private_id;
      el.me.textContent = `#${myId}`;
      setStatus('joined');
      publishOwnFeed();
      newPublishers(msg.publishers || []);
    } else if (event === 'event') {
      if (msg.publishers) newPublishers(msg.publishers);
      const gone = msg.unpublished !== undefined && msg.unpublished !== 'ok' ? msg.unpublished : msg.leaving !== undefined && msg.leaving !== 'ok' ? msg.leaving : undefined;
      if (gone !== undefined) removeFeed(gone);
    } else if (event === 'destroyed') {
      fail('The room was destroyed');
    }
    if (jsep) publisher.handleRemoteJsep({ jsep });
  }

  /** Subscribe to every stream of the new publishers (one subscriber handle for all). */
  function newPublishers(list) {
    const streams = [];
    for (const p of list) {
      if (p.id === myId || p.dummy) continue;
      feeds.set(p.id, p.display || '');
      for (const s of p.streams || []) {
        if (s.disabled || (s.type !== 'audio' && s.type !== 'video')) continue;
        streams.push({ feed: p.id, mid: s.mid });
      }
    }
    if (streams.length === 0) return;
    if (subscriber) subscriber.send({ message: { request: 'subscribe', streams } });
    else if (subscriberJoining) pendingSubscribe.push(...streams);
    else attachSubscriber(streams);
  }

  function attachSubscriber(streams) {
    subscriberJoining = true;
    janus.attach({
      plugin: 'janus.plugin.videoroom',
      opaqueId: `videoroom-sub-${Janus.randomString(12)}`,
      success: (h) => {
        subscriber = h;
        subscriberJoining = false;
        h.send({ message: { request: 'join', room, ptype: 'subscriber', streams, private_id: privateId } });
        if (pendingSubscribe.length) h.send({ message: { request: 'subscribe', streams: pendingSubscribe.splice(0) } });
      },
      error: (err) => fail(`Attach: ${describe(err)}`),
      onmessage: (msg, jsep) => {
        if (msg.error) return fail(`${msg.error_code}: ${msg.error}`);
        if (msg.streams) {
          subStreams.clear();
          for (const s of msg.streams) if (s.active) subStreams.set(s.mid, { feed: s.feed_id, feedMid: s.feed_mid, type: s.type });
        }
        if (jsep) {
          subscriber.createAnswer({
            jsep,
            tracks: [],
            success: (answer) => subscriber.send({ message: { request: 'start', room }, jsep: answer }),
            error: (err) => fail(`WebRTC: ${describe(err)}`),
          });
        }
      },
      onremotetrack: (track, mid, on) => {
        const info = subStreams.get(mid);
        const existing = document.querySelector(`[data-mid="${CSS.escape(mid)}"]`);
        if (!on || !info) {
          if (existing) existing.remove();
          return;
        }
        if (existing) existing.remove();
        const media = document.createElement(track.kind === 'video' ? 'video' : 'audio');
        media.autoplay = true;
        media.playsInline = true;
        media.dataset.mid = mid;
        media.dataset.feed = String(info.feed);
        feedSection(info.feed).querySelector('.frame').appendChild(media);
        Janus.attachMediaStream(media, new MediaStream([track]));
        media.play().catch(() => {});
      },
    });
  }

  function stop() {
    clearInterval(statsTimer);
    statsTimer = null;
    if (janus) janus.destroy({ cleanupHandles: true });
    janus = null;
    publisher = null;
    subscriber = null;
    subscriberJoining = false;
    feeds.clear();
    subStreams.clear();
    for (const s of document.querySelectorAll('section.remote')) s.remove();
    el.localVideo.srcObject = null;
    el.localFrame.classList.remove('live');
    el.start.disabled = false;
    el.stop.disabled = true;
    setStatus('stopped');
  }

  el.start.addEventListener('click', () => {
    start();
    statsTimer = setInterval(pollStats, 1000);
  });
  el.stop.addEventListener('click', stop);
  if (q.get('autostart') === '1') el.start.click();
})();
