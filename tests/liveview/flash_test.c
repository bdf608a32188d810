/* The flash table and its token (liveview/flash.c): put/clear/get, signing round trip, expiry,
 * tampering, tokens of another kind, and finding the cookie in a Cookie header. */
#include <criterion/criterion.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/flash.h"
#include "liveview/token.h"

static const uint8_t KEY[LV_SECRET_LEN] = {1, 2, 3};
static const uint64_t NOW = 1700000000u;

Test(flash_table, put_replace_clear)
{
    lv__flash f = {0};
    cr_assert_eq(lv__flash_put(&f, "info", "a"), 0);
    cr_assert_eq(lv__flash_put(&f, "error", "b"), 0);
    cr_assert(f.changed);
    f.changed = false;
    cr_assert_eq(lv__flash_put(&f, "info", "a"), 0);
    cr_assert(!f.changed, "putting the same message changes nothing");
    cr_assert_eq(lv__flash_put(&f, "info", "c"), 0);
    cr_assert_str_eq(lv__flash_get(&f, "info"), "c");
    cr_assert_null(lv__flash_get(&f, "nope"));
    cr_assert_null(lv__flash_get(&f, NULL));
    cr_assert_eq(lv__flash_put(&f, NULL, "x"), LV_EINVAL);
    cr_assert_eq(lv__flash_put(&f, "k", NULL), LV_EINVAL);
    lv__flash_clear(&f, "info");
    cr_assert_null(lv__flash_get(&f, "info"));
    cr_assert_str_eq(lv__flash_get(&f, "error"), "b");
    lv__flash_clear(&f, NULL);
    cr_assert_eq(f.n, 0);
}

Test(flash_table, sixteen_keys_at_most)
{
    lv__flash f = {0};
    char key[16];
    for (int i = 0; i < LV__FLASH_MAX_KEYS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert_eq(lv__flash_put(&f, key, "x"), 0);
    }
    cr_assert_eq(lv__flash_put(&f, "one-more", "x"), LV_ELIMIT);
    cr_assert_eq(lv__flash_put(&f, "k3", "replaced"), 0, "an existing key can still change");
    lv__flash_clear(&f, NULL);
}

Test(flash_token, round_trip_and_json_escaping)
{
    lv__flash f = {0}, g = {0};
    lv__flash_put(&f, "info", "say \"hi\" <b>");
    lv_buf tok = LV_BUF_INIT;
    cr_assert_eq(lv__flash_sign(&f, KEY, NOW, &tok), 0);
    cr_assert_null(strstr(tok.data, "hi"));
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW + 59, tok.data), 0);
    cr_assert_str_eq(lv__flash_get(&g, "info"), "say \"hi\" <b>");
    lv__flash empty = {0};
    lv_buf none = LV_BUF_INIT;
    cr_assert_eq(lv__flash_sign(&empty, KEY, NOW, &none), 0);
    cr_assert_eq(none.len, 0, "an empty flash is not sent");
    lv_buf_free(&tok);
    lv__flash_clear(&f, NULL);
    lv__flash_clear(&g, NULL);
}

Test(flash_token, expired_tampered_foreign_and_other_kinds_are_refused)
{
    lv__flash f = {0}, g = {0};
    lv__flash_put(&f, "info", "x");
    lv_buf tok = LV_BUF_INIT;
    lv__flash_sign(&f, KEY, NOW, &tok);
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW + LV__FLASH_MAX_AGE_S + 1, tok.data), LV_ETIMEDOUT);
    uint8_t other[LV_SECRET_LEN] = {9};
    cr_assert_eq(lv__flash_verify(&g, other, NOW, tok.data), LV_EPROTO);
    tok.data[3] = tok.data[3] == 'A' ? 'B' : 'A';
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW, tok.data), LV_EPROTO);
    /* a session token signed with the same secret is no flash token */
    lv_buf session = LV_BUF_INIT;
    static const char sess[] = "{\"view\":\"v\",\"id\":\"i\",\"csrf\":\"c\"}";
    lv_token_sign(KEY, sess, sizeof(sess) - 1, NOW, &session);
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW, session.data), LV_EPROTO);
    lv_buf wrong = LV_BUF_INIT;
    static const char num[] = "{\"flash\":{\"info\":7,\"ok\":\"yes\"}}";
    lv_token_sign(KEY, num, sizeof(num) - 1, NOW, &wrong);
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW, wrong.data), 0);
    cr_assert_null(lv__flash_get(&g, "info"), "only string messages are taken");
    cr_assert_str_eq(lv__flash_get(&g, "ok"), "yes");
    cr_assert_eq(lv__flash_verify(&g, KEY, NOW, ""), LV_EPROTO);
    lv_buf_free(&tok);
    lv_buf_free(&session);
    lv_buf_free(&wrong);
    lv__flash_clear(&f, NULL);
    lv__flash_clear(&g, NULL);
}

Test(flash_cookie, found_among_other_cookies)
{
    size_t n = 0;
    const char *h = "a=1; __phoenix_flash__=TOK.SIG; b=2";
    const char *v = lv__flash_cookie(h, strlen(h), &n);
    cr_assert(v && n == 7 && memcmp(v, "TOK.SIG", 7) == 0);
    h = "__phoenix_flash__=X";
    v = lv__flash_cookie(h, strlen(h), &n);
    cr_assert(v && n == 1 && *v == 'X');
    h = "x__phoenix_flash__=no; __phoenix_flash_=no";
    cr_assert_null(lv__flash_cookie(h, strlen(h), &n));
    cr_assert_null(lv__flash_cookie("", 0, &n));
}
