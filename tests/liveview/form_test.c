/* liveview/form.c: urlencoded form payloads decode as Plug.Conn.Query.decode does (the cases of
 * Plug's own test suite, conflicting keys included), bad input fails with the offset of the
 * problem, and "_target" becomes the path Phoenix derives. Results are compared as JSON text. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/buf.h"
#include "liveview/error.h"
#include "liveview/form.h"

TestSuite(form, .timeout = 30);

/* Decodes s and checks the result against want (JSON). */
static void expect(const char *s, const char *want)
{
    json_t *got = NULL;
    char err[128];
    int rc = lv_form_decode(s, strlen(s), &got, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s: %s", s, err);
    json_error_t je;
    json_t *w = json_loads(want, 0, &je);
    cr_assert_not_null(w, "bad expectation %s: %s", want, je.text);
    char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, w), "%s: got %s, want %s", s, text, want);
    free(text);
    json_decref(got);
    json_decref(w);
}

static void expect_error(const char *s, size_t n, int code, const char *msg)
{
    json_t *got = (json_t *)&got;
    char err[128] = "untouched";
    cr_assert_eq(lv_form_decode(s, n, &got, err, sizeof(err)), code, "%s", s);
    cr_assert_null(got, "%s: no result on failure", s);
    if (msg)
        cr_assert_str_eq(err, msg, "%s", s);
}

/* ---- what Phoenix forms send ---- */

Test(form, phoenix_form_payloads)
{
    expect("user%5Bname%5D=bobby", "{\"user\":{\"name\":\"bobby\"}}");
    expect("user%5Bname%5D=bobby&btn=go", "{\"user\":{\"name\":\"bobby\"},\"btn\":\"go\"}");
    expect("n=10", "{\"n\":\"10\"}");
    expect("user%5B_unused_email%5D=&user%5Bname%5D=&user%5Bemail%5D=",
           "{\"user\":{\"_unused_email\":\"\",\"name\":\"\",\"email\":\"\"}}");
    expect("_unused_user%5Bemail%5D=&user%5Bemail%5D=",
           "{\"_unused_user\":{\"email\":\"\"},\"user\":{\"email\":\"\"}}");
    expect("q=hello+world&c=%2B1%20%26%3D", "{\"q\":\"hello world\",\"c\":\"+1 &=\"}");
    expect("name=J%C3%BCrgen+%E2%82%AC", "{\"name\":\"J\xc3\xbcrgen \xe2\x82\xac\"}");
    expect("a=1=2", "{\"a\":\"1=2\"}");
    expect("%61%62=%7e%7E", "{\"ab\":\"~~\"}");
}

Test(form, empty_input_and_pairs)
{
    expect("", "{}");
    expect("&", "{}");
    expect("&&&", "{}");
    expect("&x=1&&y=2&", "{\"x\":\"1\",\"y\":\"2\"}");
}

/* The cases of Plug's own decode tests. */
Test(form, plug_decode_cases)
{
    expect("foo=bar&baz=bat", "{\"foo\":\"bar\",\"baz\":\"bat\"}");
    expect("users[name]=hello&users[age]=17&users[address][street]=foo",
           "{\"users\":{\"name\":\"hello\",\"age\":\"17\",\"address\":{\"street\":\"foo\"}}}");
    expect("my+weird+field=q1%212%22%27w%245%267%2Fz8%29%3F", "{\"my weird field\":\"q1!2\\\"'w$5&7/z8)?\"}");
    expect("=", "{\"\":\"\"}");
    expect("key", "{\"key\":\"\"}");
    expect("key=", "{\"key\":\"\"}");
    expect("=value", "{\"\":\"value\"}");
    expect("foo[]", "{\"foo\":[\"\"]}");
    expect("foo[]=", "{\"foo\":[\"\"]}");
    expect("foo[]=bar&foo[]=baz", "{\"foo\":[\"bar\",\"baz\"]}");
    expect("foo[]=bar&foo[]=baz&bat[]=1&bat[]=2", "{\"foo\":[\"bar\",\"baz\"],\"bat\":[\"1\",\"2\"]}");
    expect("x[y][z]=1", "{\"x\":{\"y\":{\"z\":\"1\"}}}");
    expect("x[y][z][]=1", "{\"x\":{\"y\":{\"z\":[\"1\"]}}}");
    expect("x[y][z]=1&x[y][z]=2", "{\"x\":{\"y\":{\"z\":\"2\"}}}");
    expect("x[y][z][]=1&x[y][z][]=2", "{\"x\":{\"y\":{\"z\":[\"1\",\"2\"]}}}");
    expect("x[y][][z]=1", "{\"x\":{\"y\":[{\"z\":\"1\"}]}}");
    expect("x[y][][z][]=1", "{\"x\":{\"y\":[{\"z\":[\"1\"]}]}}");
    expect("x[][][]=1", "{\"x\":[[[\"1\"]]]}");
}

Test(form, later_pairs_win)
{
    expect("foo=bar&foo=baz", "{\"foo\":\"baz\"}");
    expect("users[name]=bar&users[name]=baz", "{\"users\":{\"name\":\"baz\"}}");
    /* Plug's "last always wins on bad queries" */
    expect("x[]=1&x[y]=1", "{\"x\":{\"y\":\"1\"}}");
    expect("x[y][][w]=2&x[y]=1", "{\"x\":{\"y\":\"1\"}}");
    expect("x=1&x[y]=1", "{\"x\":{\"y\":\"1\"}}");
    expect("x[y][0][w]=2&x[y]=1", "{\"x\":{\"y\":\"1\"}}");
    expect("x[y]=1&x=2", "{\"x\":\"2\"}");
    expect("x[y]=1&x[]=2", "{\"x\":[\"2\"]}");
}

/* Quirks that follow from Plug's algorithm: a level keeps the place of its first appearance, and
 * a level is a list or a map according to its newest entry. */
Test(form, plug_quirks)
{
    expect("a[b]=1&a=2&a[c]=3", "{\"a\":\"2\"}");
    expect("a[]=1&a[x]=2&a[]=3", "{\"a\":[\"1\",\"3\"]}");
    expect("a[][b]=1&a[][c]=2", "{\"a\":[{\"b\":\"1\",\"c\":\"2\"}]}");
    expect("a[0][b]=1&a[0][c]=2&a[1][b]=3", "{\"a\":{\"0\":{\"b\":\"1\",\"c\":\"2\"},\"1\":{\"b\":\"3\"}}}");
}

Test(form, bracket_edge_cases)
{
    expect("[a]=1", "{\"[a]\":\"1\"}");       /* no name before the bracket: a plain key */
    expect("a[b=1", "{\"a[b\":\"1\"}");       /* not closed */
    expect("a[b][c=1", "{\"a[b][c\":\"1\"}"); /* last segment not closed */
    expect("a]=1", "{\"a]\":\"1\"}");
    expect("a[b]c]=1", "{\"a\":{\"b]c\":\"1\"}}"); /* a "]" not followed by "[" is text */
    expect("a[]]=1", "{\"a\":{\"]\":\"1\"}}");
    expect("a[[b]]=1", "{\"a\":{\"[b]\":\"1\"}}");
    expect("a[b][]x]=1", "{\"a\":{\"b\":{\"]x\":\"1\"}}}");
    expect("a[ ]=1", "{\"a\":{\" \":\"1\"}}");
    expect("a%5B%5D=1&a%5B%5D=2", "{\"a\":[\"1\",\"2\"]}");
}

Test(form, nul_bytes_in_values_only)
{
    json_t *got;
    char err[128];
    const char *s = "a=x%00y&b[]=%00";
    cr_assert_eq(lv_form_decode(s, strlen(s), &got, err, sizeof(err)), 0, "%s", err);
    json_t *a = json_object_get(got, "a");
    cr_assert_eq(json_string_length(a), 3);
    cr_assert_eq(memcmp(json_string_value(a), "x\0y", 3), 0);
    cr_assert_eq(json_string_length(json_array_get(json_object_get(got, "b"), 0)), 1);
    json_decref(got);
    /* in keys NUL is refused: C callers would see "k" */
    expect_error("a=1&k%00=1", 10, LV_EPROTO, "NUL byte in key at offset 4");
    expect_error("u[n%00]=1", 9, LV_EPROTO, "NUL byte in key at offset 0");
}

Test(form, explicit_length_is_respected)
{
    json_t *got;
    cr_assert_eq(lv_form_decode("a=1&b=2", 3, &got, NULL, 0), 0);
    cr_assert_eq(json_object_size(got), 1);
    cr_assert_str_eq(json_string_value(json_object_get(got, "a")), "1");
    json_decref(got);
    cr_assert_eq(lv_form_decode(NULL, 0, &got, NULL, 0), 0);
    cr_assert_eq(json_object_size(got), 0);
    json_decref(got);
}

/* ---- bad input ---- */

Test(form, bad_percent_encoding)
{
    expect_error("%G1", 3, LV_EPROTO, "bad percent-encoding at offset 0");
    expect_error("a=%4", 4, LV_EPROTO, "bad percent-encoding at offset 2");
    expect_error("a=%", 3, LV_EPROTO, "bad percent-encoding at offset 2");
    expect_error("a=1&b%=2", 8, LV_EPROTO, "bad percent-encoding at offset 5");
    expect_error("ok=1&v=ab%zz", 12, LV_EPROTO, "bad percent-encoding at offset 9");
    expect_error("_utf8=%R2%9P%93", 15, LV_EPROTO, "bad percent-encoding at offset 6");
    expect_error("a=%4&b=1", 8, LV_EPROTO, "bad percent-encoding at offset 2");
    expect_error("a=%%41", 6, LV_EPROTO, "bad percent-encoding at offset 2");
    expect_error("a=%+1", 5, LV_EPROTO, "bad percent-encoding at offset 2");
    expect_error("a=% 1", 5, LV_EPROTO, "bad percent-encoding at offset 2");
}

Test(form, invalid_utf8_after_decoding)
{
    expect_error("a=%C3%28", 9, LV_EPROTO, "invalid UTF-8 in value at offset 2");
    expect_error("x=1&a=%FF", 9, LV_EPROTO, "invalid UTF-8 in value at offset 6");
    expect_error("a=%C0%AF", 8, LV_EPROTO, "invalid UTF-8 in value at offset 2");     /* overlong */
    expect_error("a=%ED%A0%80", 11, LV_EPROTO, "invalid UTF-8 in value at offset 2"); /* surrogate */
    expect_error("a=%F4%90%80%80", 14, LV_EPROTO, "invalid UTF-8 in value at offset 2");
    expect_error("a=%E2%82", 8, LV_EPROTO, "invalid UTF-8 in value at offset 2"); /* truncated */
    expect_error("x=1&k%C3=1", 10, LV_EPROTO, "invalid UTF-8 in key at offset 4");
    expect_error("a=\xff", 3, LV_EPROTO, "invalid UTF-8 in value at offset 2"); /* raw byte, not escaped */
    expect_error("\xc3\x28=1", 4, LV_EPROTO, "invalid UTF-8 in key at offset 0");
}

static char *deep_key(size_t brackets)
{
    lv_buf b = LV_BUF_INIT;
    lv_buf_putc(&b, 'a');
    for (size_t i = 0; i < brackets; i++)
        lv_buf_puts(&b, "[k]");
    lv_buf_puts(&b, "=v");
    return b.data;
}

Test(form, nesting_limit)
{
    char *ok = deep_key(LV_FORM_MAX_DEPTH - 1);
    json_t *got;
    char err[128];
    cr_assert_eq(lv_form_decode(ok, strlen(ok), &got, err, sizeof(err)), 0, "%s", err);
    json_t *node = got;
    for (int i = 0; i < LV_FORM_MAX_DEPTH - 1; i++)
        node = json_object_get(node, i == 0 ? "a" : "k");
    cr_assert_str_eq(json_string_value(json_object_get(node, "k")), "v");
    json_decref(got);
    free(ok);
    char *bad = deep_key(LV_FORM_MAX_DEPTH);
    lv_buf s = LV_BUF_INIT;
    lv_buf_puts(&s, "x=1&");
    lv_buf_puts(&s, bad);
    expect_error(s.data, s.len, LV_EPROTO, "key nested deeper than 32 levels at offset 4");
    lv_buf_free(&s);
    free(bad);
    /* a huge one fails the same way, without recursing */
    char *huge = deep_key(100000);
    expect_error(huge, strlen(huge), LV_EPROTO, "key nested deeper than 32 levels at offset 0");
    free(huge);
}

Test(form, error_buffer_optional)
{
    json_t *got;
    cr_assert_eq(lv_form_decode("a=%4", 4, &got, NULL, 0), LV_EPROTO);
    char small[10];
    cr_assert_eq(lv_form_decode("a=%4", 4, &got, small, sizeof(small)), LV_EPROTO);
    cr_assert_str_eq(small, "bad perce");
}

/* Many pairs and many distinct nested keys stay linear. */
Test(form, large_forms)
{
    lv_buf b = LV_BUF_INIT;
    for (int i = 0; i < 20000; i++)
        lv_buf_printf(&b, "%sitems[%d][name]=n%d&items[%d][tags][]=t&list[]=%d", i ? "&" : "", i, i, i, i);
    json_t *got;
    char err[128];
    cr_assert_eq(lv_form_decode(b.data, b.len, &got, err, sizeof(err)), 0, "%s", err);
    json_t *items = json_object_get(got, "items");
    cr_assert_eq(json_object_size(items), 20000);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(items, "19999"), "name")), "n19999");
    cr_assert_eq(json_array_size(json_object_get(got, "list")), 20000);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(got, "list"), 123)), "123");
    json_decref(got);
    lv_buf_free(&b);
}

/* ---- _target ---- */

static void expect_target(const char *target, const char *want)
{
    json_t *got = NULL;
    cr_assert_eq(lv_form_target(target, &got), 0, "%s", target);
    json_t *w = json_loads(want, 0, NULL);
    char *text = json_dumps(got, JSON_COMPACT);
    cr_assert(json_equal(got, w), "%s: got %s, want %s", target, text, want);
    free(text);
    json_decref(got);
    json_decref(w);
}

Test(form, target_paths)
{
    expect_target("user[name]", "[\"user\",\"name\"]");
    expect_target("name", "[\"name\"]");
    expect_target("user[address][street]", "[\"user\",\"address\",\"street\"]");
    expect_target("tags[]", "[\"tags\"]");
    expect_target("rows[][name]", "[\"rows\",\"name\"]");
    expect_target("", "[]");
    expect_target("my+field", "[\"my field\"]");
    expect_target("user%5Bname%5D", "[\"user\",\"name\"]");
    expect_target("b&a", "[\"a\"]"); /* a map's smallest key, as Erlang iterates small maps */
    expect_target("ab[x]&a[y]", "[\"a\",\"y\"]");
}

Test(form, target_bad_encoding)
{
    json_t *got = (json_t *)&got;
    cr_assert_eq(lv_form_target("a%zz", &got), LV_EPROTO);
    cr_assert_null(got);
    cr_assert_eq(lv_form_target("a%C3", &got), LV_EPROTO);
    cr_assert_null(got);
}

/* ---- out of memory: jansson's allocations fail from the nth on ---- */

static long allocs_left;

static void *failing_malloc(size_t n)
{
    return allocs_left-- > 0 ? malloc(n) : NULL;
}

Test(form, out_of_memory_fails_cleanly)
{
    json_set_alloc_funcs(failing_malloc, free);
    const char *s = "user%5Bname%5D=bobby&a[]=1&a[]=2&x[y][][z]=1&x=2&x[y]=3&t=%C3%A9";
    bool succeeded = false;
    for (long n = 0; n < 400 && !succeeded; n++) {
        allocs_left = n;
        json_t *got = (json_t *)&got;
        char err[128] = "";
        int rc = lv_form_decode(s, strlen(s), &got, err, sizeof(err));
        cr_assert(rc == 0 || rc == LV_ENOMEM, "n=%ld rc=%d %s", n, rc, err);
        if (rc == 0)
            succeeded = true;
        else
            cr_assert_null(got);
        json_decref(got == (json_t *)&got ? NULL : got); /* ASan reports anything a failure path leaked */
    }
    cr_assert(succeeded);
    succeeded = false;
    for (long n = 0; n < 100 && !succeeded; n++) {
        allocs_left = n;
        json_t *path = NULL;
        int rc = lv_form_target("user[address][street]", &path);
        cr_assert(rc == 0 || rc == LV_ENOMEM, "n=%ld rc=%d", n, rc);
        succeeded = rc == 0;
        json_decref(path);
    }
    cr_assert(succeeded);
}
