/** Process-wide counter for TransportConnection ids (logs and ownership checks in the core). */
let last = 0;

export function nextConnectionId(): number {
  last += 1;
  return last;
}
