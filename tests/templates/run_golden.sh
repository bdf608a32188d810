#!/usr/bin/env bash
# Template compiler tests: every bad template in errors/ must fail with exactly the message in its
# .expected file (file:line:col: message); good templates must compile as C; and a C error inside
# an expression must be reported at the template's own file:line (#line directives).
# usage: run_golden.sh PATH/TO/lvtc
set -u
lvtc=$(realpath "$1")
cd "$(dirname "$0")"
root=$(realpath ../..)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
for t in errors/*.lv.html; do
  want=$(cat "${t%.lv.html}.expected")
  got=$("$lvtc" "$t" -o "$tmp/out.h" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$got" = "$want" ] && [ ! -e "$tmp/out.h" ]; then ok "$t"; else bad "$t: rc=$rc, got '$got', want '$want'"; fi
done
if "$lvtc" ok/everything.lv.html -o "$tmp/everything.lv.h" &&
   gcc -std=c17 -Wall -Wextra -Werror -I"$root" -I"$tmp" -c ok/everything.c -o "$tmp/everything.o"; then
  ok "ok/everything.lv.html compiles warning-free"
else
  bad "ok/everything.lv.html does not compile"
fi
"$lvtc" line_error.lv.html -o "$tmp/line_error.lv.h"
err=$(gcc -std=c17 -I"$root" -I"$tmp" -c line_error.c -o "$tmp/le.o" 2>&1)
if printf '%s\n' "$err" | grep -q '^line_error.lv.html:3:.*no_such_variable'; then
  ok "a C error in an expression points at line_error.lv.html:3"
else
  bad "C error location: $err"
fi
echo "templates: $passed passed, $failed failed"
[ $failed -eq 0 ]
