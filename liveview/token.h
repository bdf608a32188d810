/* Signed tokens for the page's session and static attributes: base64url(issued-at || payload)
 * "." base64url(HMAC-SHA256). A token proves the server issued the payload and when. */
#ifndef LV_TOKEN_H
#define LV_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "liveview/buf.h"

#define LV_SECRET_LEN 32

int lv_token_sign(const uint8_t key[LV_SECRET_LEN], const char *payload, size_t n, uint64_t now_s,
                  lv_buf *out);
/* Appends the payload to *payload on success. LV_EPROTO for a malformed or tampered token,
 * LV_ETIMEDOUT when it is older than max_age_s. */
int lv_token_verify(const uint8_t key[LV_SECRET_LEN], const char *token, size_t n, uint64_t now_s,
                    uint64_t max_age_s, lv_buf *payload);
/* base64url without padding */
void lv_base64url(lv_buf *out, const uint8_t *data, size_t n);
int lv_base64url_decode(lv_buf *out, const char *s, size_t n);
/* Fills buf with n random bytes from the OS. */
int lv_random(void *buf, size_t n);

#endif
