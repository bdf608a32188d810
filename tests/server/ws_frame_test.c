/* server/ws_frame.c: the client-frame parser (every RFC 6455 rule it enforces, input split at every
 * byte, fragmentation, limits, state after errors), server frame headers, close payloads, the
 * handshake key and the UTF-8 validator. Frames are built here, masked as a browser would. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "server/ws_frame.h"

TestSuite(ws_frame, .timeout = 30);

static const uint8_t mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends one client frame: b0 is FIN|RSV|opcode as sent; the length is encoded minimally unless
 * len_bytes forces 2 or 8 extra bytes. */
static void frame_ex(lv_buf *out, uint8_t b0, const void *payload, size_t n, bool masked, int len_bytes)
{
    uint8_t h[14];
    size_t hl = 2;
    h[0] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len_bytes == 0 && n < 126) {
        h[1] = (uint8_t)(m | n);
    } else if (len_bytes == 2 || (len_bytes == 0 && n <= 0xffff)) {
        h[1] = m | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = m | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    if (masked) {
        memcpy(h + hl, mask_key, 4);
        hl += 4;
    }
    lv_buf_append(out, h, hl);
    size_t at = out->len;
    lv_buf_append(out, payload, n);
    if (masked)
        for (size_t i = 0; i < n; i++)
            out->data[at + i] = (char)(out->data[at + i] ^ mask_key[i & 3]);
}

static void frame(lv_buf *out, uint8_t b0, const void *payload, size_t n)
{
    frame_ex(out, b0, payload, n, true, 0);
}

#define FIN 0x80

/* What a transport saw: messages as "<opcode>:<payload>" lines, then the error if any. */
typedef struct transcript {
    lv_buf log;
    int status; /* last negative return, or 0 */
    uint16_t close_code;
} transcript;

static void note_msg(transcript *t, const lv_ws_msg *m)
{
    lv_buf_printf(&t->log, "%d:", m->opcode);
    lv_buf_append(&t->log, m->data, m->len);
    if (m->opcode == LV_WS_CLOSE) {
        lv_buf_printf(&t->log, "|%u|", m->close_code);
        lv_buf_append(&t->log, m->close_reason, m->close_reason_len);
    }
    lv_buf_putc(&t->log, '\n');
}

/* Plays a transport (as server/ws.c does with h2o's input buffer): chunks arrive one after the
 * other, unconsumed bytes are kept for the next call, and parsing stops at the first error. */
static void feed_chunks(lv_ws_parser *p, const char *data, const size_t *cuts, size_t ncuts, size_t total,
                        transcript *t)
{
    lv_buf in = LV_BUF_INIT;
    size_t from = 0;
    for (size_t c = 0; c <= ncuts && t->status == 0; c++) {
        size_t to = c < ncuts ? cuts[c] : total;
        lv_buf_append(&in, data + from, to - from);
        from = to;
        while (in.len > 0) {
            size_t consumed = 99999;
            lv_ws_msg msg;
            int r = lv_ws_parse(p, in.data, in.len, &consumed, &msg);
            if (r < 0) {
                t->status = r;
                t->close_code = p->close_code;
                break;
            }
            cr_assert_leq(consumed, in.len);
            if (r == 1)
                note_msg(t, &msg);
            memmove(in.data, in.data + consumed, in.len - consumed);
            in.len -= consumed;
            if (r == 0)
                break;
        }
    }
    lv_buf_free(&in);
}

static void feed_whole(lv_ws_parser *p, const lv_buf *stream, transcript *t)
{
    feed_chunks(p, stream->data, NULL, 0, stream->len, t);
}

static void transcript_free(transcript *t)
{
    lv_buf_free(&t->log);
}

/* Parses one complete input expecting one message. */
static int parse_one(lv_ws_parser *p, lv_buf *in, lv_ws_msg *msg, size_t *consumed)
{
    return lv_ws_parse(p, in->data, in->len, consumed, msg);
}

/* ---- handshake ---- */

Test(ws_frame, accept_key_rfc_example)
{
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    cr_assert_eq(lv_ws_accept_key(key, strlen(key), out), 0);
    /* RFC 6455 §1.3; also `printf %s KEY258EAFA5-E914-47DA-95CA-C5AB0DC85B11 | openssl sha1 -binary | base64`
     */
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_frame, accept_key_rejects_malformed_keys)
{
    char out[29];
    cr_assert_eq(lv_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, out), LV_EINVAL);
    cr_assert_eq(lv_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ===", 25, out), LV_EINVAL);
    cr_assert_eq(lv_ws_accept_key("dGhlIHNhbXBsZSBub25jZQAA", 24, out), LV_EINVAL);
    cr_assert_eq(lv_ws_accept_key("dGhlIHNhbXBsZSBub25jZ!==", 24, out), LV_EINVAL);
    cr_assert_eq(lv_ws_accept_key("dGhlIHNhbXBsZSB ub25jZ==", 24, out), LV_EINVAL);
    cr_assert_eq(lv_ws_accept_key(NULL, 24, out), LV_EINVAL);
    cr_assert_str_eq(out, "");
}

/* ---- server frame headers ---- */

Test(ws_frame, header_lengths)
{
    uint8_t h[10];
    cr_assert_eq(lv_ws_header(h, LV_WS_TEXT, 0), 2);
    cr_assert_eq(h[0], 0x81);
    cr_assert_eq(h[1], 0);
    cr_assert_eq(lv_ws_header(h, LV_WS_TEXT, 125), 2);
    cr_assert_eq(h[1], 125);
    cr_assert_eq(lv_ws_header(h, LV_WS_BINARY, 126), 4);
    cr_assert_eq(h[0], 0x82);
    cr_assert(h[1] == 126 && h[2] == 0 && h[3] == 126);
    cr_assert_eq(lv_ws_header(h, LV_WS_TEXT, 65535), 4);
    cr_assert(h[1] == 126 && h[2] == 0xff && h[3] == 0xff);
    cr_assert_eq(lv_ws_header(h, LV_WS_TEXT, 65536), 10);
    const uint8_t want[10] = {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0};
    cr_assert_arr_eq(h, want, 10);
    cr_assert_eq(lv_ws_header(h, LV_WS_CLOSE, 2), 2);
    cr_assert_eq(h[0], 0x88);
    cr_assert_eq(lv_ws_header(h, LV_WS_PONG, 5), 2);
    cr_assert_eq(h[0], 0x8A);
}

/* A server frame fed back through the parser (after masking) round-trips. */
Test(ws_frame, header_round_trips_through_parser)
{
    const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
        size_t n = sizes[s];
        char *payload = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            payload[i] = (char)('a' + i % 26);
        uint8_t h[10];
        size_t hl = lv_ws_header(h, LV_WS_TEXT, n);
        lv_buf in = LV_BUF_INIT;
        h[1] |= 0x80;
        lv_buf_append(&in, h, hl);
        lv_buf_append(&in, "\0\0\0\0", 4); /* an all-zero mask leaves the payload as is */
        lv_buf_append(&in, payload, n);
        lv_ws_parser p;
        lv_ws_parser_init(&p, 0);
        lv_ws_msg msg;
        size_t consumed;
        cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1, "size %zu", n);
        cr_assert_eq(msg.len, n);
        cr_assert_eq(consumed, in.len);
        cr_assert(n == 0 || memcmp(msg.data, payload, n) == 0);
        lv_ws_parser_dispose(&p);
        lv_buf_free(&in);
        free(payload);
    }
}

/* ---- close payloads ---- */

Test(ws_frame, close_payload_code_and_reason)
{
    lv_buf b = LV_BUF_INIT;
    lv_ws_close_payload(&b, 1000, "bye");
    cr_assert_eq(b.len, 5);
    cr_assert_eq(memcmp(b.data,
                        "\x03\xe8"
                        "bye",
                        5),
                 0);
    lv_buf_reset(&b);
    lv_ws_close_payload(&b, 4001, NULL);
    cr_assert_eq(b.len, 2);
    cr_assert_eq(memcmp(b.data, "\x0f\xa1", 2), 0);
    lv_buf_reset(&b);
    lv_ws_close_payload(&b, 1002, "");
    cr_assert_eq(b.len, 2);
    lv_buf_free(&b);
}

Test(ws_frame, close_payload_never_sends_reserved_codes)
{
    const uint16_t codes[] = {0, 1005, 1006, 1015};
    for (size_t i = 0; i < 4; i++) {
        lv_buf b = LV_BUF_INIT;
        lv_ws_close_payload(&b, codes[i], "reason");
        cr_assert_eq(b.len, 0, "code %u", codes[i]);
        lv_buf_free(&b);
    }
}

Test(ws_frame, close_payload_truncates_on_utf8_boundary)
{
    char reason[300];
    lv_buf b = LV_BUF_INIT;
    /* exactly 123 bytes: kept whole */
    memset(reason, 'x', 123);
    reason[123] = '\0';
    lv_ws_close_payload(&b, 1000, reason);
    cr_assert_eq(b.len, 125);
    /* 122 ASCII bytes then "é" (2 bytes): the é would end at byte 124, so it goes */
    lv_buf_reset(&b);
    memset(reason, 'x', 122);
    strcpy(reason + 122, "\xc3\xa9zzz");
    lv_ws_close_payload(&b, 1000, reason);
    cr_assert_eq(b.len, 2 + 122);
    cr_assert(lv_utf8_valid(b.data + 2, b.len - 2));
    /* 121 ASCII then "€" (3 bytes) ends at 124: cut to 121 */
    lv_buf_reset(&b);
    memset(reason, 'x', 121);
    strcpy(reason + 121, "\xe2\x82\xac");
    lv_ws_close_payload(&b, 1000, reason);
    cr_assert_eq(b.len, 2 + 121);
    /* 120 ASCII then "€" ends at exactly 123: kept */
    lv_buf_reset(&b);
    memset(reason, 'x', 120);
    strcpy(reason + 120, "\xe2\x82\xac"
                         "more");
    lv_ws_close_payload(&b, 1000, reason);
    cr_assert_eq(b.len, 2 + 123);
    cr_assert(lv_utf8_valid(b.data + 2, b.len - 2));
    /* a long reason made only of 4-byte characters */
    lv_buf_reset(&b);
    reason[0] = '\0';
    for (int i = 0; i < 60; i++)
        strcat(reason, "\xf0\x9f\x98\x80");
    lv_ws_close_payload(&b, 1011, reason);
    cr_assert_eq(b.len, 2 + 120);
    cr_assert(lv_utf8_valid(b.data + 2, b.len - 2));
    lv_buf_free(&b);
}

/* ---- UTF-8 ---- */

Test(ws_frame, utf8_valid_accepts_well_formed)
{
    const char *ok[] = {"",
                        "plain ascii",
                        "\xc2\x80",         /* U+0080 */
                        "\xdf\xbf",         /* U+07FF */
                        "\xe0\xa0\x80",     /* U+0800 */
                        "\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
                        "\xee\x80\x80",     /* U+E000, just above */
                        "\xef\xbf\xbf",     /* U+FFFF */
                        "\xf0\x90\x80\x80", /* U+10000 */
                        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
                        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
        cr_assert(lv_utf8_valid(ok[i], strlen(ok[i])), "case %zu", i);
    cr_assert(lv_utf8_valid("a\0b", 3), "NUL is a valid character");
}

Test(ws_frame, utf8_valid_rejects_malformed)
{
    const char *bad[] = {"\x80",                 /* stray continuation */
                         "\xbf",                 /* stray continuation */
                         "\xc0\x80",             /* overlong NUL */
                         "\xc1\xbf",             /* overlong */
                         "\xe0\x80\x80",         /* overlong 3-byte */
                         "\xe0\x9f\xbf",         /* overlong 3-byte */
                         "\xf0\x80\x80\x80",     /* overlong 4-byte */
                         "\xf0\x8f\xbf\xbf",     /* overlong 4-byte */
                         "\xed\xa0\x80",         /* U+D800 surrogate */
                         "\xed\xbf\xbf",         /* U+DFFF surrogate */
                         "\xf4\x90\x80\x80",     /* U+110000 */
                         "\xf5\x80\x80\x80",     /* lead byte past F4 */
                         "\xff",                 /*  */
                         "\xfe",                 /*  */
                         "\xc3",                 /* truncated */
                         "\xe2\x82",             /* truncated */
                         "\xf0\x9f\x98",         /* truncated */
                         "\xc3\x28",             /* bad continuation */
                         "\xe2\x28\xa1",         /* bad continuation */
                         "abcdefgh\xc3\xa9\x80", /* stray after a valid char, past the ASCII run */
                         "abcdefghijklmnop\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_assert_not(lv_utf8_valid(bad[i], strlen(bad[i])), "case %zu", i);
}

/* ---- parsing: well-formed input ---- */

Test(ws_frame, unfragmented_sizes_zero_copy)
{
    const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 200000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
        size_t n = sizes[s];
        char *payload = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            payload[i] = (char)(' ' + i % 90);
        lv_buf in = LV_BUF_INIT;
        frame(&in, FIN | LV_WS_TEXT, payload, n);
        size_t hl = in.len - n;
        cr_assert_eq(hl, n < 126 ? 6u : n <= 65535 ? 8u : 14u);
        lv_ws_parser p;
        lv_ws_parser_init(&p, LV_WS_DEFAULT_MAX_MESSAGE);
        lv_ws_msg msg;
        size_t consumed;
        cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1);
        cr_assert_eq(msg.opcode, LV_WS_TEXT);
        cr_assert_eq(msg.len, n);
        cr_assert_eq(consumed, in.len);
        cr_assert_eq(msg.data, in.data + hl, "an unfragmented payload is not copied");
        cr_assert(n == 0 || memcmp(msg.data, payload, n) == 0);
        cr_assert_null(p.frag, "no allocation for an unfragmented message");
        /* every proper prefix needs more input and consumes nothing */
        for (size_t cut = 0; cut < in.len; cut += (cut < 20 ? 1 : 4099)) {
            lv_buf again = LV_BUF_INIT;
            frame(&again, FIN | LV_WS_TEXT, payload, n);
            size_t c2 = 1;
            cr_assert_eq(lv_ws_parse(&p, again.data, cut, &c2, &msg), 0, "size %zu cut %zu", n, cut);
            cr_assert_eq(c2, 0);
            lv_buf_free(&again);
        }
        lv_ws_parser_dispose(&p);
        lv_buf_free(&in);
        free(payload);
    }
}

Test(ws_frame, non_minimal_lengths_are_accepted)
{
    lv_buf in = LV_BUF_INIT;
    frame_ex(&in, FIN | LV_WS_TEXT, "hi", 2, true, 2);
    frame_ex(&in, FIN | LV_WS_TEXT, "yo", 2, true, 8);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    transcript t = {0};
    feed_whole(&p, &in, &t);
    cr_assert_eq(t.status, 0);
    cr_assert_str_eq(t.log.data, "1:hi\n1:yo\n");
    transcript_free(&t);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

Test(ws_frame, control_frames)
{
    char big[125];
    memset(big, 'p', sizeof(big));
    lv_buf in = LV_BUF_INIT;
    frame(&in, FIN | LV_WS_PING, "", 0);
    frame(&in, FIN | LV_WS_PING, big, 125);
    frame(&in, FIN | LV_WS_PONG, "pong", 4);
    frame(&in, FIN | LV_WS_CLOSE, "", 0);
    frame(&in, FIN | LV_WS_CLOSE, "\x03\xe8", 2);
    frame(&in, FIN | LV_WS_CLOSE, "\x0f\xa0going \xc3\xa9", 10);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    transcript t = {0};
    feed_whole(&p, &in, &t);
    cr_assert_eq(t.status, 0);
    lv_buf want = LV_BUF_INIT;
    lv_buf_puts(&want, "9:\n9:");
    lv_buf_append(&want, big, 125);
    lv_buf_puts(&want,
                "\n10:pong\n8:|1005|\n8:\x03\xe8|1000|\n8:\x0f\xa0going \xc3\xa9|4000|going \xc3\xa9\n");
    cr_assert_eq(t.log.len, want.len);
    cr_assert_eq(memcmp(t.log.data, want.data, want.len), 0, "got %s", t.log.data);
    lv_buf_free(&want);
    transcript_free(&t);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

Test(ws_frame, close_codes_accepted)
{
    const uint16_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                           1010, 1011, 1012, 1013, 1014, 3000, 4999};
    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        uint8_t pl[2] = {(uint8_t)(ok[i] >> 8), (uint8_t)ok[i]};
        lv_buf in = LV_BUF_INIT;
        frame(&in, FIN | LV_WS_CLOSE, pl, 2);
        lv_ws_parser p;
        lv_ws_parser_init(&p, 0);
        lv_ws_msg msg;
        size_t consumed;
        cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1, "code %u", ok[i]);
        cr_assert_eq(msg.close_code, ok[i]);
        cr_assert_eq(msg.close_reason_len, 0);
        lv_buf_free(&in);
    }
}

Test(ws_frame, fragmented_message_with_interleaved_ping)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_TEXT, "Hel", 3);
    frame(&in, FIN | LV_WS_PING, "hb", 2);
    frame(&in, LV_WS_CONT, "", 0);
    frame(&in, LV_WS_CONT, "lo, ", 4);
    frame(&in, FIN | LV_WS_CONT, "world", 5);
    frame(&in, FIN | LV_WS_BINARY, "\x00\x01", 2);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    lv_ws_msg msg;
    size_t consumed;
    size_t at = 0;
    cr_assert_eq(lv_ws_parse(&p, in.data, in.len, &consumed, &msg), 1);
    cr_assert_eq(msg.opcode, LV_WS_PING);
    cr_assert_eq(msg.len, 2);
    cr_assert_eq(memcmp(msg.data, "hb", 2), 0);
    cr_assert_eq(consumed, 9 + 8, "the first fragment and the ping");
    cr_assert_eq(p.frag_opcode, LV_WS_TEXT);
    at += consumed;
    cr_assert_eq(lv_ws_parse(&p, in.data + at, in.len - at, &consumed, &msg), 1);
    cr_assert_eq(msg.opcode, LV_WS_TEXT);
    cr_assert_eq(msg.len, 12);
    cr_assert_eq(memcmp(msg.data, "Hello, world", 12), 0);
    cr_assert_not_null(p.frag, "the reassembled message lives until the caller is done");
    at += consumed;
    lv_ws_msg_done(&p);
    cr_assert_null(p.frag, "lv_ws_msg_done frees the reassembly buffer");
    cr_assert_eq(lv_ws_parse(&p, in.data + at, in.len - at, &consumed, &msg), 1);
    cr_assert_eq(msg.opcode, LV_WS_BINARY);
    cr_assert_eq(msg.len, 2);
    at += consumed;
    cr_assert_eq(at, in.len);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

Test(ws_frame, reassembly_buffer_freed_by_next_call)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_BINARY, "ab", 2);
    frame(&in, FIN | LV_WS_CONT, "cd", 2);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1);
    cr_assert_eq(msg.opcode, LV_WS_BINARY);
    cr_assert_eq(memcmp(msg.data, "abcd", 4), 0);
    cr_assert_eq(lv_ws_parse(&p, in.data + consumed, 0, &consumed, &msg), 0);
    cr_assert_null(p.frag);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

Test(ws_frame, empty_fragmented_message)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_TEXT, "", 0);
    frame(&in, FIN | LV_WS_CONT, "", 0);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1);
    cr_assert_eq(msg.opcode, LV_WS_TEXT);
    cr_assert_eq(msg.len, 0);
    cr_assert_not_null(msg.data);
    cr_assert_null(p.frag, "nothing allocated for empty fragments");
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

/* Complete fragments are taken into the reassembly buffer; a partial one stays with the caller. */
Test(ws_frame, fragments_consumed_as_they_complete)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_TEXT, "one ", 4);
    size_t first = in.len;
    frame(&in, FIN | LV_WS_CONT, "two", 3);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(lv_ws_parse(&p, in.data, in.len - 1, &consumed, &msg), 0);
    cr_assert_eq(consumed, first);
    cr_assert_eq(p.frag->len, 4);
    cr_assert_eq(lv_ws_parse(&p, in.data + first, in.len - first, &consumed, &msg), 1);
    cr_assert_eq(msg.len, 7);
    cr_assert_eq(memcmp(msg.data, "one two", 7), 0);
    lv_ws_parser_dispose(&p);
    cr_assert_null(p.frag);
    lv_buf_free(&in);
}

/* A stream of every kind of frame gives the same messages however the transport splits it. */
static void build_mixed_stream(lv_buf *in)
{
    char mid[300];
    for (size_t i = 0; i < sizeof(mid); i++)
        mid[i] = (char)('A' + i % 26);
    frame(in, FIN | LV_WS_TEXT, "[\"4\",\"4\",\"lv:x\",\"phx_join\",{}]", 30);
    frame(in, FIN | LV_WS_PING, "", 0);
    frame(in, LV_WS_TEXT, "caf\xc3", 4); /* é split across fragments */
    frame(in, FIN | LV_WS_PONG, "x", 1);
    frame(in, LV_WS_CONT, "\xa9 ", 2);
    frame(in, FIN | LV_WS_CONT, mid, sizeof(mid));
    frame(in, FIN | LV_WS_BINARY, mid, 200);
    frame(in, FIN | LV_WS_TEXT, "", 0);
    frame(in, FIN | LV_WS_CLOSE, "\x03\xe8ok", 4);
}

Test(ws_frame, split_at_every_offset_matches_whole)
{
    lv_buf in = LV_BUF_INIT;
    build_mixed_stream(&in);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    transcript whole = {0};
    lv_buf copy = LV_BUF_INIT;
    lv_buf_append(&copy, in.data, in.len);
    feed_whole(&p, &copy, &whole);
    lv_ws_parser_dispose(&p);
    cr_assert_eq(whole.status, 0);
    cr_assert_not_null(strstr(whole.log.data, "1:caf\xc3\xa9 ABC"));
    for (size_t cut = 0; cut <= in.len; cut++) {
        transcript t = {0};
        lv_ws_parser_init(&p, 0);
        feed_chunks(&p, in.data, &cut, 1, in.len, &t);
        cr_assert_eq(t.status, 0, "cut %zu", cut);
        cr_assert_str_eq(t.log.data, whole.log.data, "cut %zu", cut);
        lv_ws_parser_dispose(&p);
        transcript_free(&t);
    }
    /* and one byte at a time */
    size_t *cuts = malloc(in.len * sizeof(*cuts));
    for (size_t i = 0; i < in.len; i++)
        cuts[i] = i + 1;
    transcript t = {0};
    lv_ws_parser_init(&p, 0);
    feed_chunks(&p, in.data, cuts, in.len, in.len, &t);
    cr_assert_str_eq(t.log.data, whole.log.data);
    lv_ws_parser_dispose(&p);
    transcript_free(&t);
    transcript_free(&whole);
    free(cuts);
    lv_buf_free(&copy);
    lv_buf_free(&in);
}

/* ---- limits ---- */

Test(ws_frame, max_message_single_frame)
{
    char *data = calloc(1, 1001);
    memset(data, 'a', 1001);
    lv_buf in = LV_BUF_INIT;
    frame(&in, FIN | LV_WS_TEXT, data, 1000);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 1000);
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(parse_one(&p, &in, &msg, &consumed), 1, "exactly the limit is accepted");
    lv_ws_parser_dispose(&p);
    lv_buf_reset(&in);
    frame(&in, FIN | LV_WS_TEXT, data, 1001);
    lv_ws_parser_init(&p, 1000);
    /* rejected from the header alone, before the payload arrives */
    cr_assert_eq(lv_ws_parse(&p, in.data, 8, &consumed, &msg), LV_ETOOBIG);
    cr_assert_eq(p.close_code, 1009);
    cr_assert_str_eq(p.error, "message over the size limit");
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
    free(data);
}

Test(ws_frame, max_message_sums_fragments)
{
    char data[600];
    memset(data, 'b', sizeof(data));
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_BINARY, data, 500);
    frame(&in, LV_WS_CONT, data, 500);
    frame(&in, FIN | LV_WS_CONT, data, 24);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 1024);
    transcript t = {0};
    feed_whole(&p, &in, &t);
    cr_assert_eq(t.status, 0);
    cr_assert_eq(t.log.len, 2 + 1024 + 1);
    lv_ws_parser_dispose(&p);
    transcript_free(&t);

    lv_buf_reset(&in);
    frame(&in, LV_WS_BINARY, data, 500);
    frame(&in, LV_WS_CONT, data, 500);
    frame(&in, FIN | LV_WS_CONT, data, 25);
    lv_ws_parser_init(&p, 1024);
    t = (transcript){0};
    feed_whole(&p, &in, &t);
    cr_assert_eq(t.status, LV_ETOOBIG);
    cr_assert_eq(t.close_code, 1009);
    cr_assert_null(p.frag, "the partial message is dropped on error");
    lv_ws_parser_dispose(&p);
    transcript_free(&t);
    lv_buf_free(&in);
}

Test(ws_frame, huge_64bit_length_rejected_without_waiting)
{
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    uint8_t h[14] = {0x82, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4};
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(lv_ws_parse(&p, (char *)h, 10, &consumed, &msg), LV_ETOOBIG);
    cr_assert_eq(p.close_code, 1009);
    lv_ws_parser_dispose(&p);
}

/* ---- bad input: each one fails with its close code and message, however it is split ---- */

typedef struct bad_case {
    const char *name;
    void (*build)(lv_buf *in);
    int status;
    uint16_t close_code;
    const char *error;
} bad_case;

static void b_unmasked(lv_buf *in)
{
    frame_ex(in, FIN | LV_WS_TEXT, "hello", 5, false, 0);
}
static void b_rsv1(lv_buf *in)
{
    frame(in, FIN | 0x40 | LV_WS_TEXT, "hello", 5);
}
static void b_rsv2(lv_buf *in)
{
    frame(in, FIN | 0x20 | LV_WS_TEXT, "hello", 5);
}
static void b_rsv3(lv_buf *in)
{
    frame(in, FIN | 0x10 | LV_WS_BINARY, "hello", 5);
}
static void b_op3(lv_buf *in)
{
    frame(in, FIN | 0x3, "x", 1);
}
static void b_op7(lv_buf *in)
{
    frame(in, FIN | 0x7, "x", 1);
}
static void b_opB(lv_buf *in)
{
    frame(in, FIN | 0xB, "x", 1);
}
static void b_opF(lv_buf *in)
{
    frame(in, FIN | 0xF, "x", 1);
}
static void b_big_ping(lv_buf *in)
{
    char d[126] = {0};
    frame(in, FIN | LV_WS_PING, d, 126);
}
static void b_big_close_64(lv_buf *in)
{
    char d[126] = {0};
    frame_ex(in, FIN | LV_WS_CLOSE, d, 126, true, 8);
}
static void b_frag_ping(lv_buf *in)
{
    frame(in, LV_WS_PING, "x", 1);
}
static void b_frag_close(lv_buf *in)
{
    frame(in, LV_WS_CLOSE, "\x03\xe8", 2);
}
static void b_cont_first(lv_buf *in)
{
    frame(in, FIN | LV_WS_CONT, "x", 1);
}
static void b_cont_after_end(lv_buf *in)
{
    frame(in, LV_WS_TEXT, "a", 1);
    frame(in, FIN | LV_WS_CONT, "b", 1);
    frame(in, FIN | LV_WS_CONT, "c", 1);
}
static void b_text_in_frag(lv_buf *in)
{
    frame(in, LV_WS_TEXT, "a", 1);
    frame(in, FIN | LV_WS_TEXT, "b", 1);
}
static void b_binary_in_frag(lv_buf *in)
{
    frame(in, LV_WS_TEXT, "a", 1);
    frame(in, FIN | LV_WS_PING, "p", 1);
    frame(in, LV_WS_BINARY, "b", 1);
}
static void b_msb(lv_buf *in)
{
    uint8_t h[14] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4};
    lv_buf_append(in, h, sizeof(h));
    lv_buf_append(in, "hello", 5);
}
static void b_utf8(lv_buf *in)
{
    frame(in, FIN | LV_WS_TEXT, "ab\xc3\x28", 4);
}
static void b_overlong(lv_buf *in)
{
    frame(in, FIN | LV_WS_TEXT, "\xc0\xaf", 2);
}
static void b_surrogate(lv_buf *in)
{
    frame(in, FIN | LV_WS_TEXT, "\xed\xa0\x80", 3);
}
static void b_beyond(lv_buf *in)
{
    frame(in, FIN | LV_WS_TEXT, "\xf4\x90\x80\x80", 4);
}
static void b_utf8_across_fragments(lv_buf *in)
{
    /* E2 82 | 28: the lead arrives in one fragment, the bad continuation in the next */
    frame(in, LV_WS_TEXT, "ok \xe2\x82", 5);
    frame(in, LV_WS_CONT, "\x28 more", 6);
    frame(in, FIN | LV_WS_CONT, "end", 3);
}
static void b_utf8_truncated_at_end(lv_buf *in)
{
    frame(in, LV_WS_TEXT, "ok", 2);
    frame(in, FIN | LV_WS_CONT, "\xf0\x9f\x98", 3);
}
static void b_close_1byte(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03", 1);
}
static void b_close_999(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03\xe7", 2);
}
static void b_close_1005(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03\xed", 2);
}
static void b_close_1006(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03\xee", 2);
}
static void b_close_1015(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03\xf7", 2);
}
static void b_close_2999(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x0b\xb7", 2);
}
static void b_close_5000(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x13\x88", 2);
}
static void b_close_bad_reason(lv_buf *in)
{
    frame(in, FIN | LV_WS_CLOSE, "\x03\xe8\xff", 3);
}

static const bad_case bad_cases[] = {
    {"unmasked", b_unmasked, LV_EPROTO, 1002, "client frame not masked"},
    {"rsv1", b_rsv1, LV_EPROTO, 1002, "reserved header bits set (no extension was negotiated)"},
    {"rsv2", b_rsv2, LV_EPROTO, 1002, "reserved header bits set (no extension was negotiated)"},
    {"rsv3", b_rsv3, LV_EPROTO, 1002, "reserved header bits set (no extension was negotiated)"},
    {"opcode 3", b_op3, LV_EPROTO, 1002, "reserved opcode"},
    {"opcode 7", b_op7, LV_EPROTO, 1002, "reserved opcode"},
    {"opcode B", b_opB, LV_EPROTO, 1002, "reserved opcode"},
    {"opcode F", b_opF, LV_EPROTO, 1002, "reserved opcode"},
    {"126-byte ping", b_big_ping, LV_EPROTO, 1002, "control frame payload over 125 bytes"},
    {"close with 64-bit length", b_big_close_64, LV_EPROTO, 1002, "control frame payload over 125 bytes"},
    {"fragmented ping", b_frag_ping, LV_EPROTO, 1002, "fragmented control frame"},
    {"fragmented close", b_frag_close, LV_EPROTO, 1002, "fragmented control frame"},
    {"continuation first", b_cont_first, LV_EPROTO, 1002, "continuation frame without a message to continue"},
    {"continuation after end", b_cont_after_end, LV_EPROTO, 1002,
     "continuation frame without a message to continue"},
    {"text inside fragmented", b_text_in_frag, LV_EPROTO, 1002,
     "new message before the fragmented one ended"},
    {"binary inside fragmented", b_binary_in_frag, LV_EPROTO, 1002,
     "new message before the fragmented one ended"},
    {"64-bit length MSB", b_msb, LV_EPROTO, 1002, "64-bit payload length with the top bit set"},
    {"bad utf8", b_utf8, LV_EPROTO, 1007, "text message is not valid UTF-8"},
    {"overlong", b_overlong, LV_EPROTO, 1007, "text message is not valid UTF-8"},
    {"surrogate", b_surrogate, LV_EPROTO, 1007, "text message is not valid UTF-8"},
    {"beyond U+10FFFF", b_beyond, LV_EPROTO, 1007, "text message is not valid UTF-8"},
    {"bad utf8 across fragments", b_utf8_across_fragments, LV_EPROTO, 1007,
     "text message is not valid UTF-8"},
    {"utf8 truncated at end", b_utf8_truncated_at_end, LV_EPROTO, 1007,
     "text message ends inside a UTF-8 sequence"},
    {"close 1 byte", b_close_1byte, LV_EPROTO, 1002, "close frame with a 1-byte payload"},
    {"close 999", b_close_999, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close 1005", b_close_1005, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close 1006", b_close_1006, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close 1015", b_close_1015, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close 2999", b_close_2999, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close 5000", b_close_5000, LV_EPROTO, 1002, "close frame with an invalid status code"},
    {"close bad reason", b_close_bad_reason, LV_EPROTO, 1007, "close reason is not valid UTF-8"},
};

/* A good message before the bad frame is still delivered: nothing before the error is lost. */
Test(ws_frame, bad_input_whole_and_split)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
        const bad_case *bc = &bad_cases[i];
        lv_buf in = LV_BUF_INIT;
        frame(&in, FIN | LV_WS_TEXT, "before", 6);
        bc->build(&in);
        lv_buf copy = LV_BUF_INIT;
        for (size_t cut = 0; cut <= in.len; cut++) {
            lv_buf_reset(&copy);
            lv_buf_append(&copy, in.data, in.len);
            lv_ws_parser p;
            lv_ws_parser_init(&p, 0);
            transcript t = {0};
            feed_chunks(&p, copy.data, &cut, 1, copy.len, &t);
            cr_assert_eq(t.status, bc->status, "%s cut %zu: status %d", bc->name, cut, t.status);
            cr_assert_eq(t.close_code, bc->close_code, "%s: close code %u", bc->name, t.close_code);
            cr_assert_str_eq(p.error, bc->error, "%s", bc->name);
            cr_assert_not_null(t.log.data, "%s", bc->name);
            cr_assert_eq(strncmp(t.log.data, "1:before\n", 9), 0, "%s", bc->name);
            cr_assert_null(p.frag, "%s: no buffer kept after an error", bc->name);
            /* the parser stays failed: later input gets the same answer and nothing is consumed */
            lv_buf more = LV_BUF_INIT;
            frame(&more, FIN | LV_WS_TEXT, "after", 5);
            size_t consumed = 7;
            lv_ws_msg msg;
            cr_assert_eq(lv_ws_parse(&p, more.data, more.len, &consumed, &msg), bc->status);
            cr_assert_eq(consumed, 0);
            cr_assert_eq(p.close_code, bc->close_code);
            lv_buf_free(&more);
            lv_ws_parser_dispose(&p);
            transcript_free(&t);
        }
        lv_buf_free(&copy);
        lv_buf_free(&in);
    }
}

/* Bad UTF-8 in a fragment fails as soon as that fragment arrives, before the message ends. */
Test(ws_frame, bad_utf8_fails_fast_across_fragments)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, LV_WS_TEXT, "\xe2", 1);
    frame(&in, LV_WS_CONT, "\x82", 1);
    frame(&in, LV_WS_CONT, "\xff", 1);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    lv_ws_msg msg;
    size_t consumed;
    cr_assert_eq(parse_one(&p, &in, &msg, &consumed), LV_EPROTO);
    cr_assert_eq(p.close_code, 1007);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
    /* a character split over three fragments is fine */
    lv_buf ok = LV_BUF_INIT;
    frame(&ok, LV_WS_TEXT, "\xf0", 1);
    frame(&ok, LV_WS_CONT, "\x9f\x98", 2);
    frame(&ok, FIN | LV_WS_CONT, "\x80", 1);
    lv_ws_parser_init(&p, 0);
    cr_assert_eq(parse_one(&p, &ok, &msg, &consumed), 1);
    cr_assert_eq(msg.len, 4);
    lv_ws_parser_dispose(&p);
    lv_buf_free(&ok);
}

/* Binary messages are never UTF-8 checked. */
Test(ws_frame, binary_is_not_utf8_checked)
{
    lv_buf in = LV_BUF_INIT;
    frame(&in, FIN | LV_WS_BINARY, "\xff\xfe\xc0", 3);
    frame(&in, LV_WS_BINARY, "\xe2", 1);
    frame(&in, FIN | LV_WS_CONT, "\x28", 1);
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    transcript t = {0};
    feed_whole(&p, &in, &t);
    cr_assert_eq(t.status, 0);
    cr_assert_eq(t.log.len, 2 + 3 + 1 + 2 + 2 + 1);
    lv_ws_parser_dispose(&p);
    transcript_free(&t);
    lv_buf_free(&in);
}

Test(ws_frame, init_defaults_and_dispose_twice)
{
    lv_ws_parser p;
    lv_ws_parser_init(&p, 0);
    cr_assert_eq(p.max_message, LV_WS_DEFAULT_MAX_MESSAGE);
    cr_assert_null(p.error);
    cr_assert_eq(p.close_code, 0);
    lv_ws_parser_dispose(&p);
    lv_ws_parser_dispose(&p);
    lv_ws_msg msg;
    size_t consumed = 5;
    cr_assert_eq(lv_ws_parse(&p, NULL, 0, &consumed, &msg), 0);
    cr_assert_eq(consumed, 0);
}
