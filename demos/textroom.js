/*
 * Text room demo: janus.js against janus.plugin.textroom. `setup` gets the gateway's offer (a
 * data channel only), the answer goes back with `ack`; then join/message/leave are JSON requests on
 * the data channel, each with its own transaction, and room events arrive on it too.
 * Uses conf-common.js (PortunusDemo).
 */
'use strict';

(function () {
  const D = window.PortunusDemo;
  const $ = (id) => document.getElementById(id);
  const el = {
    joinForm: $('join-form'), username: $('username'), join: $('join'), leave: $('leave'),
    status: $('status'), room: $('room'), error: $('error'),
    sendForm: $('send-form'), text: $('text'), send: $('send'),
    messages: $('messages'), participants: $('participants'), whisperTo: $('whisper-to'),
  };
  const q = new URLSearchParams(location.search);
  const ROOM = /^\d{1,15}$/.test(q.get('room') || '') ? Number(q.get('room')) : 1234;
  el.room.textContent = String(ROOM);

  let handle = null;
  let me = null;
  let whisperTo = '';
  const pending = new Map();
  const people = new Map();

  function showError(message) {
    el.error.textContent = message ? String(message) : '';
  }

  function line(kind, text, from) {
    const li = D.addLine(el.messages, kind, text);
    li.dataset.kind = kind;
    if (from) li.dataset.from = from;
  }

  function renderPeople() {
    el.participants.textContent = '';
    for (const [username, display] of people) {
      const li = document.createElement('li');
      li.dataset.username = username;
      li.textContent = display ? `${display} (${username})` : username;
      li.style.cursor = 'pointer';
      li.addEventListener('click', () => setWhisper(whisperTo === username ? '' : username));
      el.participants.appendChild(li);
    }
  }

  function setWhisper(to) {
    whisperTo = to;
    el.whisperTo.dataset.to = to;
    el.whisperTo.textContent = to ? `Whispering to ${to} (click again for public)` : 'Public message';
  }

  /** Send a TextRoom request on the data channel; resolves with its answer. */
  function request(body) {
    const transaction = Janus.randomString(12);
    return new Promise((resolve, reject) => {
      pending.set(transaction, { resolve, reject });
      handle.data({
        text: JSON.stringify({ ...body, transaction }),
        error: (err) => {
          pending.delete(transaction);
          reject(new Error(D.describe(err)));
        },
      });
    });
  }

  function onData(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.transaction && pending.has(msg.transaction)) {
      const p = pending.get(msg.transaction);
      pending.delete(msg.transaction);
      if (msg.textroom === 'error') p.reject(new Error(`${msg.error} (${msg.error_code})`));
      else p.resolve(msg);
      return;
    }
    switch (msg.textroom) {
      case 'message':
        line(msg.whisper ? 'whisper' : 'message', `${msg.from}: ${msg.text}`, msg.from);
        break;
      case 'announcement':
        line('announcement', `Announcement: ${msg.text}`);
        break;
      case 'join':
        if (msg.username !== me) {
          people.set(msg.username, msg.display || '');
          renderPeople();
          line('join', `${msg.display || msg.username} joined`, msg.username);
        }
        break;
      case 'leave':
        people.delete(msg.username);
        renderPeople();
        line('leave', `${msg.username} left`, msg.username);
        break;
      case 'kicked':
        people.delete(msg.username);
        renderPeople();
        line('system', `${msg.username} was kicked`, msg.username);
        if (msg.username === me) left();
        break;
      case 'destroyed':
        line('system', 'The room was destroyed');
        left();
        break;
      default:
        break;
    }
  }

  async function joinRoom() {
    try {
      const res = await request({ textroom: 'join', room: ROOM, username: me, display: me });
      people.clear();
      for (const p of res.participants || []) people.set(p.username, p.display || '');
      renderPeople();
      D.setState(el.status, 'joined');
      el.text.disabled = false;
      el.send.disabled = false;
      el.leave.disabled = false;
    } catch (err) {
      fail(`Join: ${D.describe(err)}`);
    }
  }

  function left() {
    D.setState(el.status, 'left');
    el.text.disabled = true;
    el.send.disabled = true;
    el.leave.disabled = true;
  }

  async function start() {
    showError('');
    el.join.disabled = true;
    el.username.disabled = true;
    D.setState(el.status, 'connecting');
    let janus;
    try {
      janus = await D.connect();
    } catch (err) {
      fail(`Gateway: ${D.describe(err)}`);
      return;
    }
    janus.attach({
      plugin: 'janus.plugin.textroom',
      opaqueId: `textroom-${Janus.randomString(12)}`,
      success: (h) => {
        handle = h;
        D.setState(el.status, 'negotiating');
        h.send({ message: { request: 'setup' } });
      },
      error: (err) => fail(`Attach: ${D.describe(err)}`),
      onmessage: (msg, jsep) => {
        if (msg && msg.error) showError(`TextRoom: ${msg.error} (${msg.error_code})`);
        if (!jsep) return;
        handle.createAnswer({
          jsep,
          tracks: [{ type: 'data' }],
          success: (answer) => handle.send({ message: { request: 'ack' }, jsep: answer }),
          error: (err) => fail(`Answer: ${D.describe(err)}`),
        });
      },
      ondataopen: () => {
        D.setState(el.status, 'ready');
        joinRoom();
      },
      ondata: onData,
      oncleanup: left,
    });
  }

  function fail(message) {
    showError(message);
    D.setState(el.status, 'error', message);
  }

  el.joinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = el.username.value.trim();
    if (!name || handle) return;
    me = name;
    start();
  });
  el.leave.addEventListener('click', async () => {
    try {
      await request({ textroom: 'leave', room: ROOM });
      people.clear();
      renderPeople();
      left();
    } catch (err) {
      showError(`Leave: ${D.describe(err)}`);
    }
  });
  el.sendForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = el.text.value;
    if (!text || !handle) return;
    const body = { textroom: 'message', room: ROOM, text, ...(whisperTo ? { to: whisperTo } : {}) };
    try {
      await request(body);
      if (whisperTo) line('whisper', `to ${whisperTo}: ${text}`, me);
      el.text.value = '';
    } catch (err) {
      showError(`Message: ${D.describe(err)}`);
    }
  });
})();
