/** Frame types and framing constants (AMQP 0-9-1 section 4.2.3 and the spec's constants). */
export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
/** The smallest frame-max a peer may negotiate; frames up to this size are always allowed. */
export const FRAME_MIN_SIZE = 4096;
/** type (1) + channel (2) + size (4) + frame-end (1). */
export const FRAME_OVERHEAD = 8;
