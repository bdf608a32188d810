/* libFuzzer target for server/ws_frame.c: consumed never exceeds the input, messages obey every rule
 * the parser enforces, any split of the stream gives the same messages and error as the whole
 * stream, the UTF-8 validator matches a reference decoder; the encoders are exercised too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "server/ws_frame.h"

#include "tests/fuzz/fuzz_check.h"

typedef struct transcript {
    lv_buf log;
    int status;
    uint16_t close_code;
    const char *error;
} transcript;

static bool close_code_ok(uint16_t c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static void check_msg(const lv_ws_parser *p, const lv_ws_msg *m, const char *in, size_t len, size_t consumed)
{
    CHECK(m->opcode == LV_WS_TEXT || m->opcode == LV_WS_BINARY || m->opcode == LV_WS_CLOSE ||
          m->opcode == LV_WS_PING || m->opcode == LV_WS_PONG);
    CHECK(m->data != NULL);
    bool in_input = m->data >= in && m->data + m->len <= in + consumed && consumed <= len;
    bool in_frag = p->frag && m->data == p->frag->data && m->len == p->frag->len;
    CHECK(in_input || in_frag || m->len == 0);
    if (m->opcode & 0x8) {
        CHECK(in_input);
        CHECK(m->len <= 125);
    } else {
        CHECK(m->len <= p->max_message);
    }
    if (m->opcode == LV_WS_TEXT)
        CHECK(lv_utf8_valid(m->data, m->len));
    if (m->opcode == LV_WS_CLOSE) {
        if (m->len == 0) {
            CHECK(m->close_code == LV_WS_CLOSE_NO_STATUS);
        } else {
            CHECK(m->len >= 2 && close_code_ok(m->close_code));
            CHECK(m->close_reason == m->data + 2 && m->close_reason_len == m->len - 2);
            CHECK(lv_utf8_valid(m->close_reason, m->close_reason_len));
        }
    }
}

/* Feeds stream[0..n) in chunks ending at cuts[] (ascending), as a transport keeping unconsumed bytes. */
static void run(const uint8_t *stream, size_t n, const size_t *cuts, size_t ncuts, size_t max_message,
                transcript *t)
{
    lv_ws_parser p;
    lv_ws_parser_init(&p, max_message);
    lv_buf in = LV_BUF_INIT;
    size_t from = 0;
    for (size_t c = 0; c <= ncuts && t->status == 0; c++) {
        size_t to = c < ncuts ? cuts[c] : n;
        lv_buf_append(&in, stream + from, to - from);
        from = to;
        while (in.len > 0) {
            size_t consumed = SIZE_MAX;
            lv_ws_msg msg;
            int r = lv_ws_parse(&p, in.data, in.len, &consumed, &msg);
            if (r < 0) {
                CHECK(r == LV_EPROTO || r == LV_ETOOBIG || r == LV_ENOMEM);
                CHECK(p.error != NULL && p.frag == NULL);
                CHECK(p.close_code == 1002 || p.close_code == 1007 || p.close_code == 1009 ||
                      p.close_code == 1011);
                CHECK((r == LV_ETOOBIG) == (p.close_code == 1009));
                t->status = r;
                t->close_code = p.close_code;
                t->error = p.error;
                /* the parser stays failed */
                size_t c2 = 1;
                lv_ws_msg m2;
                CHECK(lv_ws_parse(&p, in.data, in.len, &c2, &m2) == r && c2 == 0);
                break;
            }
            CHECK(r == 0 || r == 1);
            CHECK(consumed <= in.len);
            if (r == 1) {
                check_msg(&p, &msg, in.data, in.len, consumed);
                lv_buf_printf(&t->log, "%d %zu %u:", msg.opcode, msg.len, msg.close_code);
                lv_buf_append(&t->log, msg.data, msg.len);
                lv_ws_msg_done(&p);
            }
            memmove(in.data, in.data + consumed, in.len - consumed);
            in.len -= consumed;
            if (r == 0)
                break;
        }
    }
    if (t->status == 0 && p.frag_opcode == 0)
        CHECK(p.frag == NULL); /* nothing held between messages */
    lv_ws_parser_dispose(&p);
    lv_buf_free(&in);
}

/* Turns a frame description into client frames: [b0][L][payload...] where L < 126 is a 7-bit
 * length, 126 and 127 take the length from the next two bytes (16- and 64-bit encodings), and
 * L >= 128 writes an unmasked header. */
static void build_frames(const uint8_t *d, size_t n, lv_buf *out)
{
    size_t i = 0;
    for (uint8_t k = 1; i + 2 <= n; k++) {
        uint8_t b0 = d[i], L = d[i + 1];
        i += 2;
        size_t plen = L;
        bool masked = L < 128;
        if (L == 126 || L == 127) {
            if (i + 2 > n)
                break;
            plen = (size_t)d[i] << 8 | d[i + 1];
            i += 2;
        } else if (!masked) {
            plen = L & 0x7f;
            if (plen >= 126)
                plen = 0;
        }
        if (plen > n - i)
            plen = n - i;
        uint8_t h[14];
        size_t hl = 2;
        h[0] = b0;
        if (L == 127) {
            h[1] = 127;
            for (int j = 0; j < 8; j++)
                h[2 + j] = (uint8_t)((uint64_t)plen >> (56 - 8 * j));
            hl = 10;
        } else if (L == 126 || plen >= 126) {
            h[1] = 126;
            h[2] = (uint8_t)(plen >> 8);
            h[3] = (uint8_t)plen;
            hl = 4;
        } else {
            h[1] = (uint8_t)plen;
        }
        uint8_t key[4] = {k, (uint8_t)(k * 7), (uint8_t)(k * 13), 0xa5};
        if (masked) {
            h[1] |= 0x80;
            memcpy(h + hl, key, 4);
            hl += 4;
        }
        lv_buf_append(out, h, hl);
        for (size_t j = 0; j < plen; j++) {
            uint8_t c = d[i + j];
            lv_buf_putc(out, (char)(masked ? c ^ key[j & 3] : c));
        }
        i += plen;
    }
}

/* Decodes each code point and checks its range: slow and obviously right. */
static bool ref_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t c = s[i], min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, c &= 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, c &= 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, c &= 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            c = c << 6 | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static void fuzz_encoders(const uint8_t *d, size_t n)
{
    uint8_t h[10];
    size_t hl = lv_ws_header(h, d[0] & 0xf, n * 517);
    CHECK(hl == 2 || hl == 4 || hl == 10);
    CHECK((h[0] & 0x80) && !(h[1] & 0x80));
    char reason[300];
    size_t rn = n < sizeof(reason) - 1 ? n : sizeof(reason) - 1;
    memcpy(reason, d, rn);
    reason[rn] = '\0';
    lv_buf b = LV_BUF_INIT;
    uint16_t code = (uint16_t)(n ? d[0] << 8 | d[n - 1] : 1000);
    lv_ws_close_payload(&b, code, reason);
    CHECK(b.len <= 125);
    if (b.len) {
        CHECK(b.len >= 2);
        CHECK(lv_utf8_valid(reason, strlen(reason)) ? lv_utf8_valid(b.data + 2, b.len - 2) : true);
        CHECK(memcmp(b.data + 2, reason, b.len - 2) == 0);
    }
    lv_buf_free(&b);
    char acc[29];
    if (n >= 24) {
        int rc = lv_ws_accept_key((const char *)d, 24, acc);
        CHECK(rc == 0 ? strlen(acc) == 28 : rc == LV_EINVAL);
    }
}

/* data[0]: bit 0 raw stream or frame descriptions (masked here as a client would, so the fuzzer
 * gets past "not masked" to fragmentation, UTF-8 and close codes), bits 1-2 the size limit;
 * data[1]: seed for the split points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const size_t limits[4] = {0, 16, 300, 70000};
    size_t max_message = limits[(data[0] >> 1) & 3];
    uint32_t seed = data[1] | (uint32_t)data[0] << 8;
    lv_buf stream = LV_BUF_INIT;
    if (data[0] & 1)
        build_frames(data + 2, size - 2, &stream);
    else
        lv_buf_append(&stream, data + 2, size - 2);
    uint8_t *copy = malloc(stream.len + 1);
    size_t *cuts = malloc((stream.len + 1) * sizeof(*cuts));

    transcript whole = {LV_BUF_INIT, 0, 0, NULL};
    if (stream.len)
        memcpy(copy, stream.data, stream.len);
    run(copy, stream.len, NULL, 0, max_message, &whole);

    /* the same stream cut at pseudo-random places, then one byte at a time */
    for (int pass = 0; pass < 2; pass++) {
        size_t ncuts = 0;
        for (size_t at = 0; at < stream.len;) {
            seed = seed * 1103515245u + 12345u;
            at += pass ? 1 : 1 + (seed >> 16) % 40;
            if (at < stream.len)
                cuts[ncuts++] = at;
        }
        transcript split = {LV_BUF_INIT, 0, 0, NULL};
        if (stream.len)
            memcpy(copy, stream.data, stream.len);
        run(copy, stream.len, cuts, ncuts, max_message, &split);
        CHECK(split.status == whole.status && split.close_code == whole.close_code &&
              split.error == whole.error);
        CHECK(split.log.len == whole.log.len);
        CHECK(split.log.len == 0 || memcmp(split.log.data, whole.log.data, whole.log.len) == 0);
        lv_buf_free(&split.log);
    }
    lv_buf_free(&whole.log);

    /* the validator agrees with a plain decoder written from the definition */
    CHECK(lv_utf8_valid((const char *)data, size) == ref_utf8(data, size));

    fuzz_encoders(data, size);
    free(cuts);
    free(copy);
    lv_buf_free(&stream);
    return 0;
}
