/* The HTML document around a view's first render: CSRF meta tag, client script, and the
 * LiveView container with its id and signed session and static tokens (PROTOCOL.md section 1).
 * The session token carries the view, the container id, the CSRF token and the app's session;
 * the static token carries the flash the page shows. */
#include <stdio.h>
#include <string.h>

#include "liveview/view_internal.h"

static const char STYLE[] =
    "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "button{font-size:1.1rem;margin:.2rem;padding:.3rem .8rem}.temp{font-size:3rem;margin:.5rem 0}"
    "nav a{margin-right:1rem}li.error,li.invalid{color:#b00}li.calculating{color:#888}"
    ".phx-error{outline:2px solid #b00}.flash{padding:.5rem 1rem;border-radius:4px}.flash.info{background:#e6f4ea}"
    ".flash.error{background:#fce8e6}</style>";

void lv__page_new_id(lv_buf *id)
{
    uint8_t rnd[12];
    lv_random(rnd, sizeof(rnd));
    lv_buf_puts(id, "phx-");
    lv_base64url(id, rnd, sizeof(rnd));
}

void lv__page_document(const lv_endpoint *ep, const lv_view_def *def, const char *id, const char *session_json,
                       const char *title, const char *inner, size_t len, const lv__flash *flash, lv_buf *out)
{
    if (title == NULL)
        title = def->name;
    uint8_t csrf_rnd[18];
    lv_random(csrf_rnd, sizeof(csrf_rnd));
    lv_buf csrf = LV_BUF_INIT, payload = LV_BUF_INIT, session = LV_BUF_INIT, stat = LV_BUF_INIT;
    lv_base64url(&csrf, csrf_rnd, sizeof(csrf_rnd));
    uint64_t now = ep->now_s();
    lv_buf_printf(&payload, "{\"view\":\"%s\",\"id\":\"%s\",\"csrf\":\"%s\"", def->name, id, csrf.data);
    if (session_json != NULL) { /* already checked to be a JSON object */
        lv_buf_puts(&payload, ",\"session\":");
        lv_buf_puts(&payload, session_json);
    }
    lv_buf_putc(&payload, '}');
    lv_token_sign(ep->secret, payload.data, payload.len, now, &session);
    lv_buf_reset(&payload);
    lv_buf_printf(&payload, "{\"id\":\"%s\"", id);
    if (flash->n) { /* what the page shows, for the connected mount (PROTOCOL.md section 7) */
        lv_buf_puts(&payload, ",\"flash\":");
        lv__flash_json(flash, &payload);
    }
    lv_buf_putc(&payload, '}');
    lv_token_sign(ep->secret, payload.data, payload.len, now, &stat);

    lv_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"csrf-token\" content=\"");
    lv_buf_puts(out, csrf.data);
    lv_buf_puts(out, "\">\n<title data-suffix=\" · Salamander\">");
    lv_buf_put_html(out, title, strlen(title));
    lv_buf_puts(out, " · Salamander</title>\n");
    lv_buf_puts(out, STYLE);
    if (ep->extra_head)
        lv_buf_puts(out, ep->extra_head);
    lv_buf_puts(out, "\n<script defer src=\"");
    lv_buf_put_html(out, ep->script_url, strlen(ep->script_url));
    lv_buf_puts(out, "\"></script>\n</head>\n<body>\n"
                     "<nav><a href=\"/\">Calculator</a><a href=\"/thermostat\">Thermostat</a>"
                     "<a href=\"/load\">Load</a><a href=\"/dashboard\">Dashboard</a><a href=\"/greeter\">Greeter</a></nav>\n"
                     "<div id=\"");
    lv_buf_puts(out, id);
    lv_buf_puts(out, "\" data-phx-main data-phx-session=\"");
    lv_buf_puts(out, session.data);
    lv_buf_puts(out, "\" data-phx-static=\"");
    lv_buf_puts(out, stat.data);
    lv_buf_puts(out, "\">");
    lv_buf_append(out, inner, len);
    lv_buf_puts(out, "</div>\n</body>\n</html>\n");
    lv_buf_free(&csrf);
    lv_buf_free(&payload);
    lv_buf_free(&session);
    lv_buf_free(&stat);
}
