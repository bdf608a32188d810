/* Flag parsing (server/config.c): --idle-timeout (its default, accepted values and a clear error
 * for each bad one) and the --bind-schedulers switch. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/config.h"

/* Parses one flag and value; returns the result and the error text in err. */
static int parse(lv_config *cfg, const char *flag, const char *val, char *err, size_t cap)
{
    char *argv[] = {"salamander", (char *)flag, (char *)val, NULL};
    int argc = val ? 3 : 2;
    memset(err, 0, cap);
    FILE *e = fmemopen(err, cap - 1, "w");
    FILE *o = fopen("/dev/null", "w");
    lv_config_defaults(cfg);
    int rc = lv_config_parse(cfg, argc, argv, o, e);
    fclose(e);
    fclose(o);
    return rc;
}

Test(config, idle_timeout_default_and_values)
{
    lv_config cfg;
    char err[256];
    lv_config_defaults(&cfg);
    cr_assert_eq(cfg.idle_timeout_s, 60);
    cr_assert_eq(parse(&cfg, "--idle-timeout", "5", err, sizeof(err)), 0);
    cr_assert_eq(cfg.idle_timeout_s, 5);
    cr_assert_eq(parse(&cfg, "--idle-timeout", "0", err, sizeof(err)), 0, "0 turns it off");
    cr_assert_eq(cfg.idle_timeout_s, 0);
    cr_assert_eq(parse(&cfg, "--idle-timeout", "86400", err, sizeof(err)), 0);
}

Test(config, idle_timeout_bad_values_are_refused_with_a_reason)
{
    lv_config cfg;
    char err[256];
    const char *bad[] = {"-1", "abc", "86401", "", "5s", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(&cfg, "--idle-timeout", bad[i], err, sizeof(err)), -1, "%s accepted", bad[i]);
        char want[128];
        snprintf(want, sizeof(want), "invalid value for --idle-timeout: '%s'", bad[i]);
        cr_assert(strstr(err, want), "%s", err);
    }
    cr_assert_eq(parse(&cfg, "--idle-timeout", NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "--idle-timeout needs a value"), "%s", err);
}

Test(config, help_lists_the_flag)
{
    char out[4096] = {0};
    FILE *o = fmemopen(out, sizeof(out) - 1, "w");
    lv_config_usage(o);
    fclose(o);
    cr_assert(strstr(out, "--idle-timeout SECONDS"), "%s", out);
}

Test(config, bind_schedulers_is_a_switch)
{
    lv_config cfg;
    char err[256];
    lv_config_defaults(&cfg);
    cr_assert_eq(cfg.bind_schedulers, 0, "the kernel places threads unless asked");
    cr_assert_eq(parse(&cfg, "--bind-schedulers", NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.bind_schedulers, 1);
    char out[4096] = {0};
    FILE *o = fmemopen(out, sizeof(out) - 1, "w");
    lv_config_usage(o);
    fclose(o);
    cr_assert(strstr(out, "--bind-schedulers"), "%s", out);
}
