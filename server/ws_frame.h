/* RFC 6455 WebSocket framing for the server side: the pull parser for client frames, the encoder
 * for server frames, close payloads, the handshake's accept key and the UTF-8 check text
 * messages need. No I/O, and no allocation at all unless a client fragments a message. */
#ifndef LV_WS_FRAME_H
#define LV_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/buf.h"

enum {
    LV_WS_CONT = 0x0,
    LV_WS_TEXT = 0x1,
    LV_WS_BINARY = 0x2,
    LV_WS_CLOSE = 0x8,
    LV_WS_PING = 0x9,
    LV_WS_PONG = 0xA,
};

/* Close codes this module produces (RFC 6455 §7.4.1). */
#define LV_WS_CLOSE_NORMAL    1000
#define LV_WS_CLOSE_PROTOCOL  1002
#define LV_WS_CLOSE_NO_STATUS 1005 /* reported for a CLOSE without a payload; never sent */
#define LV_WS_CLOSE_BAD_DATA  1007
#define LV_WS_CLOSE_TOO_BIG   1009
#define LV_WS_CLOSE_INTERNAL  1011

#define LV_WS_DEFAULT_MAX_MESSAGE ((size_t)1 << 20)
#define LV_WS_MAX_CONTROL         125
#define LV_WS_MAX_CLOSE_REASON    123

/* One message (or control frame) returned by lv_ws_parse. `data` is unmasked and points either
 * into the caller's input (any unfragmented frame) or into the parser's reassembly buffer (a
 * fragmented message); either way it stays valid until the caller drops the consumed bytes or
 * calls lv_ws_parse / lv_ws_msg_done again. It is not NUL-terminated. */
typedef struct lv_ws_msg {
    int opcode; /* LV_WS_TEXT, BINARY, CLOSE, PING or PONG; never CONT */
    char *data;
    size_t len;
    /* CLOSE only: the code (LV_WS_CLOSE_NO_STATUS when the payload was empty) and the reason,
     * valid UTF-8 pointing into data */
    uint16_t close_code;
    const char *close_reason;
    size_t close_reason_len;
} lv_ws_msg;

/* Per-connection parser state: a few words, holding memory only while a fragmented message is
 * being reassembled. After an error the parser stays failed: every later call returns the same
 * code, and close_code / error say what to send the client. */
typedef struct lv_ws_parser {
    size_t max_message;  /* the largest message accepted, fragments summed */
    lv_buf *frag;        /* payload of the fragmented message in progress; NULL when none */
    const char *error;   /* after an error: a static message; NULL otherwise */
    uint32_t utf8_state; /* validation state carried across the fragments of a text message */
    int status;          /* 0, or the negative LV_E* code of the error that ended parsing */
    uint16_t close_code; /* after an error: 1002, 1007, 1009 or 1011 */
    uint8_t frag_opcode; /* LV_WS_TEXT or BINARY while a fragmented message is open, else 0 */
    bool frag_delivered; /* frag was handed out as a message: free it on the next call */
} lv_ws_parser;

/* max_message 0 means LV_WS_DEFAULT_MAX_MESSAGE. */
void lv_ws_parser_init(lv_ws_parser *p, size_t max_message);
void lv_ws_parser_dispose(lv_ws_parser *p);

/* Parses frames from the start of `in` (the bytes the caller has not yet consumed). Returns 1 with
 * a complete message in *msg, 0 when more input is needed, or a negative LV_EPROTO, LV_ETOOBIG or
 * LV_ENOMEM with p->close_code and p->error set. *consumed is how many bytes of `in` the caller must
 * drop before the next call (after using *msg: a message may point into them). On 0, an incomplete
 * frame, headers included, is left unconsumed for the caller to keep; complete fragments of a
 * fragmented message are consumed into the reassembly buffer. Payloads are unmasked in place, so
 * bytes reported consumed must never be passed again. */
int lv_ws_parse(lv_ws_parser *p, char *in, size_t len, size_t *consumed, lv_ws_msg *msg);

/* The caller is done with the message lv_ws_parse returned: a reassembled message's buffer is freed
 * now rather than on the next call, so a connection that goes idle holds nothing. */
void lv_ws_msg_done(lv_ws_parser *p);

/* Writes the header of an unmasked, final server frame; returns its length (2, 4 or 10). */
size_t lv_ws_header(uint8_t out[10], int opcode, size_t payload_len);

/* Appends a CLOSE payload: the code, then the reason cut to at most 123 bytes without splitting a
 * UTF-8 sequence. Codes that must not appear on the wire (0, 1005, 1006, 1015) give an empty
 * payload. reason may be NULL. */
void lv_ws_close_payload(lv_buf *b, uint16_t code, const char *reason);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (24 base64 characters encoding 16 bytes): 28
 * characters and a NUL in out. Returns LV_EINVAL for a malformed key, LV_ENOMEM if hashing fails. */
int lv_ws_accept_key(const char *client_key, size_t len, char out[29]);

/* True when s[0..n) is well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool lv_utf8_valid(const char *s, size_t n);

#endif
