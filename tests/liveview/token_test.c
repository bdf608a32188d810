/* Signed tokens: round trip, tampering, expiry, malformed input. */
#include <criterion/criterion.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/token.h"

static const uint8_t key[LV_SECRET_LEN] = "0123456789abcdef0123456789abcde";
static const uint8_t other_key[LV_SECRET_LEN] = "fedcba9876543210fedcba987654321";

Test(token, round_trip)
{
    lv_buf tok = LV_BUF_INIT, out = LV_BUF_INIT;
    cr_assert_eq(lv_token_sign(key, "{\"id\":\"phx-1\"}", 14, 1000, &tok), 0);
    cr_assert_eq(lv_token_verify(key, tok.data, tok.len, 1500, 3600, &out), 0);
    cr_assert_str_eq(out.data, "{\"id\":\"phx-1\"}");
    lv_buf_free(&tok);
    lv_buf_free(&out);
}

Test(token, tampering_and_other_keys_are_refused)
{
    lv_buf tok = LV_BUF_INIT, out = LV_BUF_INIT;
    lv_token_sign(key, "{\"view\":\"thermostat\"}", 21, 1000, &tok);
    cr_assert_eq(lv_token_verify(other_key, tok.data, tok.len, 1000, 3600, &out), LV_EPROTO);
    for (size_t i = 0; i < tok.len; i += 7) {
        char saved = tok.data[i];
        tok.data[i] = saved == 'A' ? 'B' : 'A';
        cr_assert_neq(lv_token_verify(key, tok.data, tok.len, 1000, 3600, &out), 0,
                      "flipped byte %zu accepted", i);
        tok.data[i] = saved;
    }
    cr_assert_eq(out.len, 0, "nothing is returned from a refused token");
    lv_buf_free(&tok);
}

Test(token, expiry)
{
    lv_buf tok = LV_BUF_INIT, out = LV_BUF_INIT;
    lv_token_sign(key, "{}", 2, 1000, &tok);
    cr_assert_eq(lv_token_verify(key, tok.data, tok.len, 1000 + 3600, 3600, &out), 0, "valid up to its age");
    cr_assert_eq(lv_token_verify(key, tok.data, tok.len, 1000 + 3601, 3600, &out), LV_ETIMEDOUT);
    cr_assert_eq(lv_token_verify(key, tok.data, tok.len, 1000 - 3600, 3600, &out), LV_ETIMEDOUT,
                 "issued in the future");
    lv_buf_free(&tok);
    lv_buf_free(&out);
}

Test(token, malformed_tokens)
{
    lv_buf out = LV_BUF_INIT;
    const char *bad[] = {"", ".", "abc", "abc.def", "!!!.!!!", "AAAA.AAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(lv_token_verify(key, bad[i], strlen(bad[i]), 0, 3600, &out), LV_EPROTO, "%s", bad[i]);
    lv_buf_free(&out);
}
