/**
 * An `rtsp` mountpoint's source: our RTSP client (src/interop/rtsp) kept alive by an RtspIngest.
 * The camera's media are matched to the mountpoint's streams by type, in order; their codecs,
 * clock rates and fmtp (H.264 sprop-parameter-sets) become what viewers are offered. After a
 * reconnect the fan-out re-bases every viewer's sequence numbers and timestamps and holds video
 * until the next keyframe, so viewers stay attached and resume cleanly. On-demand mountpoints
 * connect with the first viewer and disconnect `rtsp_ondemand_grace` seconds after the last.
 */
import type { GatewayFacade } from '../../core/plugin.ts';
import type { PortRange } from '../../media/udp-ports.ts';
import { RtspIngest } from '../../interop/rtsp/ingest.ts';
import type { CameraSdp } from '../../interop/rtsp/sdp.ts';
import type { Mountpoint, MountpointSource } from './mountpoint.ts';

const DYNAMIC_PT = { audio: 111, video: 96 } as const;

export async function startRtspSource(mp: Mountpoint, gw: GatewayFacade, range: PortRange | undefined, bindAddress = '0.0.0.0'): Promise<MountpointSource> {
  const r = mp.spec.rtsp!;
  const fan = mp.fanout;
  /** Camera media index -> mountpoint stream index. */
  let map: Array<number | undefined> = [];

  const learn = (sdp: CameraSdp): void => {
    map = [];
    const used = new Set<number>();
    sdp.media.forEach((m, ci) => {
      const st = fan.streams.find((s) => s.spec.type === m.type && !used.has(s.index));
      if (!st) return;
      used.add(st.index);
      map[ci] = st.index;
      st.codec = m.codec;
      st.clockRate = m.clockRate;
      st.fmtp = m.fmtp;
      if (m.channels !== undefined) st.spec.channels = m.channels;
      st.spec.pt = m.pt < 96 ? m.pt : DYNAMIC_PT[st.spec.type as 'audio' | 'video'] ?? m.pt;
    });
  };

  const ingest = new RtspIngest({
    url: r.url,
    ...(r.user !== undefined ? { credentials: { user: r.user, password: r.password ?? '' } } : {}),
    transport: r.transport,
    connectTimeoutMs: r.connTimeout * 1000,
    requestTimeoutMs: r.timeout * 1000,
    reconnectDelayMs: r.reconnectDelay * 1000,
    silenceMs: Math.max(1000, r.reconnectDelay * 1000),
    udpFallbackMs: 3000,
    bindAddress,
    ...(range ? { portRange: range } : {}),
    quirk: r.quirk,
  }, {
    playing: (sdp, transport, reconnect) => {
      learn(sdp);
      if (reconnect) fan.sourceRestarted();
      gw.log.info(`streaming: mountpoint ${String(mp.id)} playing ${redact(r.url)} over ${transport}${reconnect ? ' (reconnected)' : ''}`);
    },
    rtp: (i, p) => {
      const si = map[i];
      if (si !== undefined) fan.deliverRtp(si, p);
    },
    failed: (reason) => gw.log.info(`streaming: mountpoint ${String(mp.id)} RTSP session ended: ${reason}`),
  });

  let grace: NodeJS.Timeout | undefined;
  if (!r.onDemand) ingest.want(true);
  return {
    close: () => {
      if (grace) clearTimeout(grace);
      ingest.close();
    },
    viewersChanged: (count) => {
      if (!r.onDemand) return;
      if (count > 0) {
        if (grace) clearTimeout(grace);
        grace = undefined;
        ingest.want(true);
      } else if (!grace) {
        grace = setTimeout(() => {
          grace = undefined;
          if (fan.viewers.size === 0) ingest.want(false);
        }, r.graceSeconds * 1000);
        grace.unref();
      }
    },
    info: () => ({
      rtsp: { url: redact(r.url), state: ingest.state, transport: ingest.transport, reconnects: ingest.reconnects, ...(ingest.lastError ? { last_error: ingest.lastError } : {}), ondemand: r.onDemand },
    }),
  };
}

/** URL without userinfo (never echo a camera password). */
function redact(url: string): string {
  return url.replace(/^(rtsps?:\/\/)[^@/]*@/i, '$1');
}
