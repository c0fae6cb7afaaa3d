/*
 * Helpers shared by the demo pages (loaded before the page's own script): which Janus API servers to
 * try, and the status pill. Servers: ws://<host>:8188/ (wss://<host>:8989/ on an https page), then
 * <page origin>/janus (HTTP long-poll); ?transport=ws|http forces one, ?ws=PORT sets the WebSocket port.
 */
'use strict';

window.PortunusDemo = {
  serverList(params) {
    return window.portunusServerList(params);
  },
  /** A counter cell [data-stat="<kind>-<name>"]: data-value for tests, formatted text for people. */
  setStat(kind, name, value) {
    const cell = document.querySelector(`[data-stat="${kind}-${name}"]`);
    if (!cell) return;
    cell.dataset.value = String(value);
    cell.textContent = Number(value).toLocaleString('en-US');
  },
  setStatus(pill, state, detail) {
    pill.dataset.state = state;
    pill.textContent = state;
    pill.title = detail || '';
  },
};
