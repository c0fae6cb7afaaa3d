/*
 * Video call demo: janus.js against janus.plugin.videocall. Register a name, call another one (or
 * get called: the call is answered automatically), see and hear each other through the gateway,
 * chat over the data channel, hang up. Uses conf-common.js (PortunusDemo).
 */
'use strict';

(function () {
  const D = window.PortunusDemo;
  const $ = (id) => document.getElementById(id);
  const el = {
    registerForm: $('register-form'), username: $('username'), register: $('register'),
    callForm: $('call-form'), peer: $('peer'), call: $('call'), hangup: $('hangup'),
    status: $('status'), peerName: $('peername'), error: $('error'),
    audio: $('toggle-audio'), video: $('toggle-video'),
    localVideo: $('localvideo'), remoteVideo: $('remotevideo'), stats: $('stats'),
    dcState: $('datachannel'), dcForm: $('datasend-form'), dcInput: $('datasend'), dcButton: $('datasend-button'), dcLog: $('datarecv'),
  };
  const TRACKS = [
    { type: 'audio', capture: true, recv: true },
    { type: 'video', capture: true, recv: true },
    { type: 'data' },
  ];

  let janus = null;
  let handle = null;
  let registered = false;
  // Janus tells each side of a hangup twice (the reason, then "Remote WebRTC hangup"): show the first.
  let inCall = false;
  const stats = D.statsPoller(el.stats, () => handle);

  function showError(message) {
    el.error.textContent = message ? String(message) : '';
  }

  function setPeer(name) {
    el.peerName.dataset.peer = name || '';
    el.peerName.textContent = name || '–';
  }

  function setInCall(on) {
    inCall = on;
    el.hangup.disabled = !on;
    el.call.disabled = on || !registered;
    el.peer.disabled = on || !registered;
    el.audio.disabled = !on;
    el.video.disabled = !on;
  }

  function setDataChannel(open) {
    el.dcState.dataset.state = open ? 'open' : 'closed';
    el.dcState.textContent = open ? 'open' : 'closed';
    el.dcInput.disabled = !open;
    el.dcButton.disabled = !open;
  }

  async function start(name) {
    showError('');
    el.register.disabled = true;
    el.username.disabled = true;
    D.setState(el.status, 'connecting');
    try {
      janus = await D.connect();
    } catch (err) {
      fail(`Gateway: ${D.describe(err)}`);
      return;
    }
    janus.attach({
      plugin: 'janus.plugin.videocall',
      opaqueId: `videocall-${Janus.randomString(12)}`,
      success: (h) => {
        handle = h;
        h.send({ message: { request: 'register', username: name } });
      },
      error: (err) => fail(`Attach: ${D.describe(err)}`),
      webrtcState: (on) => {
        if (on) {
          D.setState(el.status, 'incall');
          stats.start();
        }
      },
      onmessage: onMessage,
      onlocaltrack: (track, on) => D.attachTrack(el.localVideo, track, on),
      onremotetrack: (track, mid, on) => D.attachTrack(el.remoteVideo, track, on),
      ondataopen: () => setDataChannel(true),
      ondata: (data) => D.addLine(el.dcLog, 'recv', typeof data === 'string' ? data : '[binary data]'),
      oncleanup: () => {
        stats.stop();
        setDataChannel(false);
        el.remoteVideo.srcObject = null;
      },
    });
  }

  function onMessage(msg, jsep) {
    const data = msg || {};
    if (data.error) {
      showError(`VideoCall: ${data.error} (${data.error_code})`);
      if (!registered) {
        el.register.disabled = false;
        el.username.disabled = false;
        D.setState(el.status, 'error', data.error);
      }
      return;
    }
    const result = data.result || {};
    switch (result.event) {
      case 'registered':
        registered = true;
        D.setState(el.status, 'registered');
        setInCall(false);
        break;
      case 'calling':
        D.setState(el.status, 'calling');
        break;
      case 'incomingcall':
        D.setState(el.status, 'incoming');
        setPeer(result.username);
        handle.createAnswer({
          jsep,
          tracks: TRACKS,
          success: (answer) => handle.send({ message: { request: 'accept' }, jsep: answer }),
          error: (err) => showError(`Answer: ${D.describe(err)}`),
        });
        setInCall(true);
        break;
      case 'accepted':
        if (result.username) setPeer(result.username);
        if (jsep) handle.handleRemoteJsep({ jsep, error: (err) => showError(`Answer rejected: ${D.describe(err)}`) });
        break;
      case 'update':
        if (jsep && jsep.type === 'answer') handle.handleRemoteJsep({ jsep });
        else if (jsep) {
          handle.createAnswer({ jsep, tracks: TRACKS, success: (a) => handle.send({ message: { request: 'set' }, jsep: a }) });
        }
        break;
      case 'hangup':
        if (!inCall) break;
        D.setState(el.status, 'hangup', result.reason);
        showError(result.reason ? `Call ended: ${result.reason}` : '');
        setPeer('');
        handle.hangup();
        setInCall(false);
        break;
      default:
        break;
    }
  }

  function call(name) {
    showError('');
    setPeer(name);
    setInCall(true);
    handle.createOffer({
      tracks: TRACKS,
      success: (jsep) => handle.send({ message: { request: 'call', username: name }, jsep }),
      error: (err) => {
        showError(`Offer: ${D.describe(err)}`);
        setInCall(false);
      },
    });
  }

  function fail(message) {
    showError(message);
    D.setState(el.status, 'error', message);
    if (handle) handle.hangup();
    if (janus) janus.destroy();
    janus = null;
    handle = null;
    registered = false;
    el.register.disabled = false;
    el.username.disabled = false;
    setInCall(false);
  }

  el.registerForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = el.username.value.trim();
    if (!name) return;
    if (handle) handle.send({ message: { request: 'register', username: name } });
    else start(name);
  });
  el.callForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = el.peer.value.trim();
    if (name && handle) call(name);
  });
  el.hangup.addEventListener('click', () => {
    if (handle) handle.send({ message: { request: 'hangup' } });
  });
  el.audio.addEventListener('change', () => handle && handle.send({ message: { request: 'set', audio: el.audio.checked } }));
  el.video.addEventListener('change', () => handle && handle.send({ message: { request: 'set', video: el.video.checked } }));
  el.dcForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = el.dcInput.value;
    if (!text || !handle) return;
    handle.data({
      text,
      success: () => {
        D.addLine(el.dcLog, 'sent', text);
        el.dcInput.value = '';
      },
      error: (err) => showError(`Data channel: ${D.describe(err)}`),
    });
  });
})();
