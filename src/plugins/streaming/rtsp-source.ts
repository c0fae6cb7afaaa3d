import type { GatewayFacade } from '../../core/plugin.ts';
import type { PortRange } from '../../media/udp-ports.ts';
import type { Mountpoint, MountpointSource } from './mountpoint.ts';
import { STREAMING_ERROR, StreamingError } from './errors.ts';

export async function startRtspSource(_mp: Mountpoint, _gw: GatewayFacade, _range: PortRange | undefined): Promise<MountpointSource> {
  throw new StreamingError(STREAMING_ERROR.CANT_CREATE, 'RTSP not ready');
}
