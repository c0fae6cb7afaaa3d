/*
 * SIP demo: janus.js against janus.plugin.sip of the gateway serving this page (register, call,
 * answer, decline, hold, DTMF via SIP INFO, hang up). Servers: ws://<host>:<?ws=PORT or 8188>/, then
 * <origin>/janus. Everything from the network is written with textContent.
 * For automated tests: #status data-state (idle, connected, registered, calling, incoming, incall,
 * held, hangup, error); counters data-stat="audio-sent|audio-received" with data-value; #stats data-round.
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const wsPort = params.get('ws') || '8188';
  const servers = [`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${wsPort}/`, `${location.origin}/janus`];
  let sip = null;
  let pendingOffer = null;
  let held = false;
  let statsTimer = null;

  function setState(s, info) {
    $('status').dataset.state = s;
    $('status').textContent = s;
    if (info !== undefined) $('callinfo').textContent = info;
    const inCall = s === 'incall' || s === 'held';
    $('call').disabled = !(s === 'registered' || s === 'hangup');
    $('answer').disabled = s !== 'incoming';
    $('decline').disabled = s !== 'incoming';
    $('hold').disabled = !inCall;
    $('hangup').disabled = !(inCall || s === 'calling');
    for (const b of document.querySelectorAll('#keypad button')) b.disabled = !inCall;
  }

  function fail(msg) {
    $('error').hidden = false;
    $('error').textContent = String(msg);
    setState('error');
  }

  function startStats() {
    clearInterval(statsTimer);
    statsTimer = setInterval(async () => {
      const pc = sip && sip.webrtcStuff && sip.webrtcStuff.pc;
      if (!pc) return;
      const report = await pc.getStats();
      report.forEach((r) => {
        if (r.kind !== 'audio') return;
        const cell = r.type === 'outbound-rtp' ? 'audio-sent' : r.type === 'inbound-rtp' ? 'audio-received' : null;
        if (!cell) return;
        const td = document.querySelector(`[data-stat="${cell}"]`);
        const v = r.type === 'outbound-rtp' ? r.packetsSent : r.packetsReceived;
        td.dataset.value = String(v);
        td.textContent = String(v);
      });
      $('stats').dataset.round = String(Number($('stats').dataset.round) + 1);
    }, 1000);
  }

  function onMessage(msg, jsep) {
    const result = msg.result || {};
    if (msg.error) return fail(msg.error);
    switch (result.event) {
      case 'registered': setState('registered', String(result.username || '')); break;
      case 'registration_failed': fail(`registration failed: ${result.code} ${result.reason}`); break;
      case 'calling': case 'ringing': setState('calling', result.event); break;
      case 'incomingcall':
        pendingOffer = jsep;
        setState('incoming', `from ${result.displayname || result.username}`);
        break;
      case 'accepted':
        if (jsep) sip.handleRemoteJsep({ jsep });
        setState('incall');
        startStats();
        break;
      case 'hangup':
        sip.hangup();
        setState('hangup', `${result.code} ${result.reason}`);
        break;
      default: break;
    }
  }

  const tracks = [{ type: 'audio', capture: true, recv: true }];

  Janus.init({
    debug: false,
    callback: () => {
      const janus = new Janus({
        server: params.get('transport') === 'http' ? servers[1] : servers,
        success: () => janus.attach({
          plugin: 'janus.plugin.sip',
          success: (h) => { sip = h; setState('connected'); },
          error: fail,
          onmessage: onMessage,
          onremotetrack: (track, mid, on) => {
            if (on && track.kind === 'audio') $('remoteaudio').srcObject = new MediaStream([track]);
          },
        }),
        error: fail,
      });
    },
  });

  $('register-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { request: 'register', username: $('username').value.trim() };
    if ($('secret').value) body.secret = $('secret').value; else body.type = 'guest';
    if ($('proxy').value.trim()) body.proxy = $('proxy').value.trim();
    sip.send({ message: body });
  });
  $('call-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sip.createOffer({ tracks, success: (jsep) => sip.send({ message: { request: 'call', uri: $('uri').value.trim() }, jsep }), error: fail });
  });
  $('answer').addEventListener('click', () => {
    sip.createAnswer({ jsep: pendingOffer, tracks, success: (jsep) => sip.send({ message: { request: 'accept' }, jsep }), error: fail });
  });
  $('decline').addEventListener('click', () => sip.send({ message: { request: 'decline' } }));
  $('hangup').addEventListener('click', () => sip.send({ message: { request: 'hangup' } }));
  $('hold').addEventListener('click', () => {
    held = !held;
    sip.send({ message: { request: held ? 'hold' : 'unhold' } });
    $('hold').textContent = held ? 'Resume' : 'Hold';
    setState(held ? 'held' : 'incall');
  });
  for (const b of document.querySelectorAll('#keypad button')) {
    b.addEventListener('click', () => sip.send({ message: { request: 'dtmf_info', digit: b.dataset.digit } }));
  }
})();
