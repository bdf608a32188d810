/* RFC 6455 framing for the server: parses client frames pulled from the transport's own input
 * buffer (unmasking in place, so an unfragmented message is never copied), encodes server frame
 * headers and close payloads, computes the handshake's accept key and validates UTF-8. */
#include "server/ws_frame.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "liveview/error.h"

/* ---- UTF-8 ----
 * A validator that can stop anywhere: a text message split over fragments may split a character,
 * and checking each fragment as it arrives lets bad input fail before the rest is buffered.
 * The state is 0 between characters; inside one it packs the continuation bytes still expected
 * and the range the next byte must fall in, which is narrower than 80..BF right after E0 (no
 * overlongs), ED (no surrogates), F0 (no overlongs) and F4 (nothing past U+10FFFF). */

#define UTF8_REJECT UINT32_MAX

static inline uint32_t utf8_expect(uint32_t need, uint32_t lo, uint32_t hi)
{
    return need | lo << 8 | hi << 16;
}

static uint32_t utf8_feed(uint32_t st, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (st == 0) {
            /* text is mostly ASCII: skip it eight bytes at a time */
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            uint8_t c = s[i++];
            if (c < 0x80)
                continue;
            else if (c >= 0xC2 && c <= 0xDF)
                st = utf8_expect(1, 0x80, 0xBF);
            else if (c == 0xE0)
                st = utf8_expect(2, 0xA0, 0xBF);
            else if (c == 0xED)
                st = utf8_expect(2, 0x80, 0x9F);
            else if (c >= 0xE1 && c <= 0xEF)
                st = utf8_expect(2, 0x80, 0xBF);
            else if (c == 0xF0)
                st = utf8_expect(3, 0x90, 0xBF);
            else if (c >= 0xF1 && c <= 0xF3)
                st = utf8_expect(3, 0x80, 0xBF);
            else if (c == 0xF4)
                st = utf8_expect(3, 0x80, 0x8F);
            else
                return UTF8_REJECT; /* 80..C1 (stray continuation, overlong lead) or F5..FF */
        } else {
            uint8_t c = s[i++];
            uint32_t need = st & 0xff, lo = (st >> 8) & 0xff, hi = st >> 16;
            if (c < lo || c > hi)
                return UTF8_REJECT;
            st = need == 1 ? 0 : utf8_expect(need - 1, 0x80, 0xBF);
        }
    }
    return st;
}

bool lv_utf8_valid(const char *s, size_t n)
{
    return utf8_feed(0, (const uint8_t *)s, n) == 0;
}

/* ---- parser ---- */

void lv_ws_parser_init(lv_ws_parser *p, size_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->max_message = max_message ? max_message : LV_WS_DEFAULT_MAX_MESSAGE;
}

static void frag_free(lv_ws_parser *p)
{
    if (p->frag != NULL) {
        lv_buf_free(p->frag);
        free(p->frag);
        p->frag = NULL;
    }
}

void lv_ws_parser_dispose(lv_ws_parser *p)
{
    frag_free(p);
    p->frag_opcode = 0;
    p->frag_delivered = false;
}

void lv_ws_msg_done(lv_ws_parser *p)
{
    if (p->frag_delivered) {
        frag_free(p);
        p->frag_delivered = false;
    }
}

static int ws_fail(lv_ws_parser *p, int status, uint16_t close_code, const char *error)
{
    frag_free(p);
    p->frag_opcode = 0;
    p->frag_delivered = false;
    p->status = status;
    p->close_code = close_code;
    p->error = error;
    return status;
}

static void ws_unmask(char *data, size_t n, const uint8_t key[4])
{
    uint8_t pat[8];
    for (size_t i = 0; i < 8; i++)
        pat[i] = key[i & 3];
    uint64_t w8;
    memcpy(&w8, pat, 8);
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= w8;
        memcpy(data + i, &w, 8);
    }
    for (; i < n; i++)
        data[i] = (char)(data[i] ^ key[i & 3]);
}

static bool close_code_valid(uint16_t code)
{
    /* 1004, 1005, 1006 and 1015 are reserved and must never be sent; below 1000 and 1016..2999 are
     * unassigned; 3000..4999 belong to libraries and applications */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* A control frame has arrived whole: fill *msg, checking a CLOSE payload's code and reason. */
static int ws_control(lv_ws_parser *p, int opcode, char *payload, size_t n, lv_ws_msg *msg)
{
    msg->opcode = opcode;
    msg->data = payload;
    msg->len = n;
    msg->close_code = 0;
    msg->close_reason = NULL;
    msg->close_reason_len = 0;
    if (opcode != LV_WS_CLOSE)
        return 1;
    msg->close_code = LV_WS_CLOSE_NO_STATUS;
    msg->close_reason = payload;
    if (n == 0)
        return 1;
    if (n == 1)
        return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
    uint16_t code = (uint16_t)((uint8_t)payload[0] << 8 | (uint8_t)payload[1]);
    if (!close_code_valid(code))
        return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "close frame with an invalid status code");
    if (!lv_utf8_valid(payload + 2, n - 2))
        return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_BAD_DATA, "close reason is not valid UTF-8");
    msg->close_code = code;
    msg->close_reason = payload + 2;
    msg->close_reason_len = n - 2;
    return 1;
}

int lv_ws_parse(lv_ws_parser *p, char *in, size_t len, size_t *consumed, lv_ws_msg *msg)
{
    static char empty[1];
    size_t off = 0;
    *consumed = 0;
    if (p->status)
        return p->status;
    lv_ws_msg_done(p);
    /* Loops only over the non-final fragments of a fragmented message, which are moved into the
     * reassembly buffer; everything else returns. Header checks run on as few bytes as they need,
     * so a bad frame fails before its payload is waited for. */
    while (off < len) {
        const uint8_t *h = (const uint8_t *)in + off;
        size_t avail = len - off;
        bool fin = h[0] & 0x80;
        int opcode = h[0] & 0x0f;
        bool control = opcode & 0x8;
        if (h[0] & 0x70)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL,
                           "reserved header bits set (no extension was negotiated)");
        if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xB)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "reserved opcode");
        if (control && !fin)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "fragmented control frame");
        if (opcode == LV_WS_CONT && p->frag_opcode == 0)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL,
                           "continuation frame without a message to continue");
        if (!control && opcode != LV_WS_CONT && p->frag_opcode != 0)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "new message before the fragmented one ended");
        if (avail < 2)
            break;
        if (!(h[1] & 0x80))
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "client frame not masked");
        uint64_t plen = h[1] & 0x7f;
        size_t hlen = plen == 126 ? 4 : plen == 127 ? 10 : 2;
        if (control && plen > LV_WS_MAX_CONTROL)
            return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL, "control frame payload over 125 bytes");
        if (avail < hlen)
            break;
        if (plen == 126) {
            plen = (uint64_t)h[2] << 8 | h[3];
        } else if (plen == 127) {
            plen = 0;
            for (size_t i = 2; i < 10; i++)
                plen = plen << 8 | h[i];
            if (plen >> 63)
                return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_PROTOCOL,
                               "64-bit payload length with the top bit set");
        }
        /* the reassembly buffer never exceeds max_message, so the subtraction cannot wrap */
        size_t so_far = opcode == LV_WS_CONT && p->frag ? p->frag->len : 0;
        if (!control && plen > p->max_message - so_far)
            return ws_fail(p, LV_ETOOBIG, LV_WS_CLOSE_TOO_BIG, "message over the size limit");
        const uint8_t *key = h + hlen;
        hlen += 4;
        if (avail < hlen || avail - hlen < plen)
            break; /* the frame stays unconsumed, in the caller's buffer, until it is whole */
        size_t n = (size_t)plen;
        char *payload = in + off + hlen;
        ws_unmask(payload, n, key);
        off += hlen + n;

        if (control) {
            *consumed = off;
            return ws_control(p, opcode, payload, n, msg);
        }
        if (opcode != LV_WS_CONT && fin) { /* the common case: one frame, no copy */
            if (opcode == LV_WS_TEXT && !lv_utf8_valid(payload, n))
                return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_BAD_DATA, "text message is not valid UTF-8");
            *msg = (lv_ws_msg){.opcode = opcode, .data = payload, .len = n};
            *consumed = off;
            return 1;
        }
        if (opcode != LV_WS_CONT) {
            p->frag_opcode = (uint8_t)opcode;
            p->utf8_state = 0;
        }
        if (p->frag_opcode == LV_WS_TEXT) {
            p->utf8_state = utf8_feed(p->utf8_state, (const uint8_t *)payload, n);
            if (p->utf8_state == UTF8_REJECT)
                return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_BAD_DATA, "text message is not valid UTF-8");
            if (fin && p->utf8_state != 0)
                return ws_fail(p, LV_EPROTO, LV_WS_CLOSE_BAD_DATA,
                               "text message ends inside a UTF-8 sequence");
        }
        if (n) {
            if (p->frag == NULL)
                p->frag = calloc(1, sizeof(*p->frag));
            if (p->frag != NULL)
                lv_buf_append(p->frag, payload, n);
            if (p->frag == NULL || !lv_buf_ok(p->frag))
                return ws_fail(p, LV_ENOMEM, LV_WS_CLOSE_INTERNAL, "out of memory reassembling a message");
        }
        if (fin) {
            *msg = (lv_ws_msg){
                .opcode = p->frag_opcode, .data = p->frag && p->frag->data ? p->frag->data : empty,
                .len = p->frag ? p->frag->len : 0};
            p->frag_opcode = 0;
            p->frag_delivered = true;
            *consumed = off;
            return 1;
        }
    }
    *consumed = off;
    return 0;
}

/* ---- encoding ---- */

size_t lv_ws_header(uint8_t out[10], int opcode, size_t payload_len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    uint64_t n = payload_len;
    for (size_t i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(n >> (56 - 8 * i));
    return 10;
}

void lv_ws_close_payload(lv_buf *b, uint16_t code, const char *reason)
{
    if (code == 0 || code == 1005 || code == 1006 || code == 1015)
        return;
    uint8_t be[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    lv_buf_append(b, be, 2);
    if (reason == NULL)
        return;
    size_t n = strnlen(reason, LV_WS_MAX_CLOSE_REASON + 1);
    if (n > LV_WS_MAX_CLOSE_REASON) {
        /* back up to the start of the character that straddles the limit */
        n = LV_WS_MAX_CLOSE_REASON;
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
            n--;
    }
    lv_buf_append(b, reason, n);
}

/* ---- handshake ---- */

static bool base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int lv_ws_accept_key(const char *client_key, size_t len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    out[0] = '\0';
    /* 16 bytes in base64: 22 characters and two pad characters */
    if (client_key == NULL || len != 24 || client_key[22] != '=' || client_key[23] != '=')
        return LV_EINVAL;
    for (size_t i = 0; i < 22; i++)
        if (!base64_char(client_key[i]))
            return LV_EINVAL;
    char text[24 + sizeof(guid) - 1];
    memcpy(text, client_key, 24);
    memcpy(text + 24, guid, sizeof(guid) - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(text, sizeof(text), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return LV_ENOMEM;
    EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 characters and a NUL */
    return 0;
}
