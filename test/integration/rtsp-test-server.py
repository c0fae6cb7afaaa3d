#!/usr/bin/python3
"""A GStreamer RTSP server for the RTSP client and Streaming plugin tests, on 127.0.0.1 only.

Serves H.264 (constrained baseline, packetization-mode 1, SPS/PPS before every IDR) and Opus from
test sources at rtsp://127.0.0.1:PORT/test, optionally behind Digest (or Basic) authentication and
restricted to UDP or TCP-interleaved. Prints "READY PORT" once listening.
"""
import argparse
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--port', type=int, default=0)
parser.add_argument('--user')
parser.add_argument('--password')
parser.add_argument('--auth', choices=['digest', 'basic'], default='digest')
parser.add_argument('--protocols', choices=['udp', 'tcp', 'both'], default='both')
parser.add_argument('--no-audio', action='store_true')
args = parser.parse_args()

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(str(args.port))

video = ('videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 '
         '! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=300 '
         '! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1')
audio = (' audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! audioresample '
         '! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay name=pay1 pt=97')
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch('( ' + video + ('' if args.no_audio else audio) + ' )')
factory.set_shared(True)
protocols = {'udp': GstRtsp.RTSPLowerTrans.UDP, 'tcp': GstRtsp.RTSPLowerTrans.TCP,
             'both': GstRtsp.RTSPLowerTrans.UDP | GstRtsp.RTSPLowerTrans.TCP}[args.protocols]
factory.set_protocols(protocols)

if args.user:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'user')
    if args.auth == 'digest':
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    else:
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role('user', 'media.factory.access', True)
    permissions.add_permission_for_role('user', 'media.factory.construct', True)
    factory.set_permissions(permissions)
    server.set_auth(auth)

server.get_mount_points().add_factory('/test', factory)
if server.attach(None) == 0:
    sys.exit('could not listen')
print('READY', server.get_bound_port(), flush=True)
GLib.MainLoop().run()
