/*
 * Which Janus API servers a demo page tries, in order: ws://<host>:8188/ (wss://<host>:8989/ on an
 * https page), then <page origin>/janus (HTTP long-poll). ?transport=ws|http forces one, ?ws=PORT sets
 * the WebSocket port. Loaded by every demo page before its own script.
 */
'use strict';

window.portunusServerList = function (q) {
  const secure = location.protocol === 'https:';
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  const wsPort = /^\d{1,5}$/.test(q.get('ws') || '') ? q.get('ws') : secure ? '8989' : '8188';
  const ws = `${secure ? 'wss' : 'ws'}://${host}:${wsPort}/`;
  const http = `${location.origin}/janus`;
  const transport = q.get('transport');
  if (transport === 'ws') return [ws];
  if (transport === 'http') return [http];
  return [ws, http];
};
