/**
 * Janus API error codes (JANUS-REFERENCE 1.2) and the typed error that carries them.
 * Every failure the core reports to a client is a JanusError; transports turn it into
 * `{janus:"error", error:{code, reason}}` with HTTP status 200.
 */
export const JanusCode = {
  UNAUTHORIZED: 403,
  UNAUTHORIZED_PLUGIN: 405,
  TRANSPORT_SPECIFIC: 450,
  MISSING_REQUEST: 452,
  UNKNOWN_REQUEST: 453,
  INVALID_JSON: 454,
  INVALID_JSON_OBJECT: 455,
  MISSING_MANDATORY_ELEMENT: 456,
  INVALID_REQUEST_PATH: 457,
  SESSION_NOT_FOUND: 458,
  HANDLE_NOT_FOUND: 459,
  PLUGIN_NOT_FOUND: 460,
  PLUGIN_ATTACH: 461,
  PLUGIN_MESSAGE: 462,
  PLUGIN_DETACH: 463,
  JSEP_UNKNOWN_TYPE: 464,
  JSEP_INVALID_SDP: 465,
  TRICKLE_INVALID_STREAM: 466,
  INVALID_ELEMENT_TYPE: 467,
  SESSION_CONFLICT: 468,
  UNEXPECTED_ANSWER: 469,
  TOKEN_NOT_FOUND: 470,
  WEBRTC_STATE: 471,
  NOT_ACCEPTING_SESSIONS: 472,
  UNKNOWN: 490,
} as const;

export type JanusCodeValue = (typeof JanusCode)[keyof typeof JanusCode];

export class JanusError extends Error {
  readonly code: number;
  /** The session the error concerns, when the reply should name it. */
  sessionId: number | undefined;
  constructor(code: number, reason: string) {
    super(reason);
    this.name = 'JanusError';
    this.code = code;
  }
  get reason(): string {
    return this.message;
  }
}

/** Coded constructors, one per error the core raises, so reasons read the same everywhere. */
export const Errors = {
  unauthorized: () => new JanusError(JanusCode.UNAUTHORIZED, 'Unauthorized request (wrong or missing secret/token)'),
  unauthorizedPlugin: (plugin: string) =>
    new JanusError(JanusCode.UNAUTHORIZED_PLUGIN, `Provided token can't access plugin ${plugin}`),
  missingRequest: () => new JanusError(JanusCode.MISSING_REQUEST, 'Missing request'),
  unknownRequest: (verb: string) => new JanusError(JanusCode.UNKNOWN_REQUEST, `Unknown request '${verb}'`),
  invalidJson: (detail: string) => new JanusError(JanusCode.INVALID_JSON, `JSON error: ${detail}`),
  invalidJsonObject: () => new JanusError(JanusCode.INVALID_JSON_OBJECT, 'Invalid JSON object'),
  missingElement: (name: string) => new JanusError(JanusCode.MISSING_MANDATORY_ELEMENT, `Missing mandatory element (${name})`),
  invalidPath: (verb: string) =>
    new JanusError(JanusCode.INVALID_REQUEST_PATH, `Unhandled request '${verb}' at this path`),
  sessionNotFound: (id: unknown) => new JanusError(JanusCode.SESSION_NOT_FOUND, `No such session ${String(id)}`),
  handleNotFound: (id: unknown) => new JanusError(JanusCode.HANDLE_NOT_FOUND, `No such handle ${String(id)} in session`),
  pluginNotFound: (name: string) => new JanusError(JanusCode.PLUGIN_NOT_FOUND, `No such plugin '${name}'`),
  pluginAttach: (name: string, detail: string) =>
    new JanusError(JanusCode.PLUGIN_ATTACH, `Couldn't attach to plugin '${name}': ${detail}`),
  pluginMessage: (detail: string) => new JanusError(JanusCode.PLUGIN_MESSAGE, detail),
  pluginDetach: (detail: string) => new JanusError(JanusCode.PLUGIN_DETACH, `Couldn't detach from plugin: ${detail}`),
  jsepUnknownType: (type: string) => new JanusError(JanusCode.JSEP_UNKNOWN_TYPE, `JSEP error: unknown message type '${type}'`),
  jsepInvalidSdp: (detail: string) => new JanusError(JanusCode.JSEP_INVALID_SDP, `JSEP error: invalid SDP (${detail})`),
  invalidElementType: (name: string, expected: string) =>
    new JanusError(JanusCode.INVALID_ELEMENT_TYPE, `Invalid element type (${name} should be ${expected})`),
  sessionConflict: (id: number) => new JanusError(JanusCode.SESSION_CONFLICT, `Session ID ${id} already in use`),
  unexpectedAnswer: () => new JanusError(JanusCode.UNEXPECTED_ANSWER, 'Unexpected ANSWER (did we offer?)'),
  tokenNotFound: (token: string) => new JanusError(JanusCode.TOKEN_NOT_FOUND, `Token ${token} not found`),
  webrtcState: (detail: string) => new JanusError(JanusCode.WEBRTC_STATE, detail),
  notAcceptingSessions: () => new JanusError(JanusCode.NOT_ACCEPTING_SESSIONS, 'Not accepting new sessions'),
  unknown: (detail: string) => new JanusError(JanusCode.UNKNOWN, detail),
};

/** Error raised for bad configuration: names the file, line and key when known. */
export class ConfigError extends Error {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(message: string, where: { file?: string; line?: number; key?: string } = {}) {
    const loc = [where.file, where.line !== undefined ? `line ${where.line}` : undefined, where.key ? `key '${where.key}'` : undefined]
      .filter(Boolean)
      .join(', ');
    super(loc ? `${loc}: ${message}` : message);
    this.name = 'ConfigError';
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}
