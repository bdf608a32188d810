/* HMAC-SHA256 signed tokens (OpenSSL libcrypto) and base64url. */
#include "liveview/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>

#include "liveview/error.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void lv_base64url(lv_buf *out, const uint8_t *d, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        char q[4] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63], B64URL[v & 63]};
        lv_buf_append(out, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)d[i] << 16;
        char q[2] = {B64URL[v >> 18], B64URL[(v >> 12) & 63]};
        lv_buf_append(out, q, 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
        char q[3] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63]};
        lv_buf_append(out, q, 3);
    }
}

static int b64val(char c)
{
    const char *p = c ? strchr(B64URL, c) : NULL;
    return p ? (int)(p - B64URL) : -1;
}

int lv_base64url_decode(lv_buf *out, const char *s, size_t n)
{
    if (n % 4 == 1)
        return LV_EPROTO;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return LV_EPROTO;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            lv_buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    return lv_buf_ok(out) ? 0 : LV_ENOMEM;
}

int lv_random(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0)
            return LV_EIO;
        got += (size_t)r;
    }
    return 0;
}

static void mac(const uint8_t key[LV_SECRET_LEN], const char *data, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, LV_SECRET_LEN, (const unsigned char *)data, n, out, &len);
}

int lv_token_sign(const uint8_t key[LV_SECRET_LEN], const char *payload, size_t n, uint64_t now_s,
                  lv_buf *out)
{
    lv_buf body = LV_BUF_INIT;
    uint8_t ts[8];
    for (int i = 0; i < 8; i++)
        ts[i] = (uint8_t)(now_s >> (56 - 8 * i));
    lv_buf_append(&body, ts, 8);
    lv_buf_append(&body, payload, n);
    size_t start = out->len;
    lv_base64url(out, (const uint8_t *)body.data, body.len);
    uint8_t m[32];
    mac(key, out->data + start, out->len - start, m);
    lv_buf_putc(out, '.');
    lv_base64url(out, m, sizeof(m));
    int err = lv_buf_ok(&body) && lv_buf_ok(out) ? 0 : LV_ENOMEM;
    lv_buf_free(&body);
    return err;
}

int lv_token_verify(const uint8_t key[LV_SECRET_LEN], const char *token, size_t n, uint64_t now_s,
                    uint64_t max_age_s, lv_buf *payload)
{
    const char *dot = memchr(token, '.', n);
    if (dot == NULL)
        return LV_EPROTO;
    size_t body_len = (size_t)(dot - token);
    uint8_t want[32];
    mac(key, token, body_len, want);
    lv_buf sig = LV_BUF_INIT, body = LV_BUF_INIT;
    int err = LV_EPROTO;
    if (lv_base64url_decode(&sig, dot + 1, n - body_len - 1) != 0 || sig.len != 32 ||
        CRYPTO_memcmp(sig.data, want, 32) != 0)
        goto Exit;
    if (lv_base64url_decode(&body, token, body_len) != 0 || body.len < 8)
        goto Exit;
    uint64_t issued = 0;
    for (int i = 0; i < 8; i++)
        issued = issued << 8 | (uint8_t)body.data[i];
    if (issued > now_s + 60 || now_s - issued > max_age_s) {
        err = LV_ETIMEDOUT;
        goto Exit;
    }
    lv_buf_append(payload, body.data + 8, body.len - 8);
    err = 0;
Exit:
    lv_buf_free(&sig);
    lv_buf_free(&body);
    return err;
}
