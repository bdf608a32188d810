#!/usr/bin/env bash
# Template compiler tests: every bad template in errors/ must fail with exactly the message in its
# .expected file (file:line:col: message) and write no header; every good template in ok/ with a
# C file beside it must compile warning-free; and a C error inside an expression must be reported
# at the template's own file:line (#line directives).
# Components used by the error cases live in errors/lib (passed with -I).
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
  got=$("$lvtc" "$t" -I errors/lib -o "$tmp/out.h" 2>&1); rc=$?
  if [ $rc -eq 1 ] && [ "$got" = "$want" ] && [ ! -e "$tmp/out.h" ]; then ok "$t"; else bad "$t: rc=$rc, got '$got', want '$want'"; fi
  rm -f "$tmp/out.h"
done
for c in ok/*.c; do
  t=${c%.c}.lv.html; name=$(basename "${c%.c}")
  if "$lvtc" "$t" -o "$tmp/$name.lv.h" &&
     gcc -std=c17 -Wall -Wextra -Werror -I"$root" -I"$tmp" -c "$c" -o "$tmp/$name.o" &&
     clang -std=c17 -Wall -Wextra -Werror -I"$root" -I"$tmp" -c "$c" -o "$tmp/$name.clang.o"; then
    ok "$t compiles warning-free (gcc and clang)"
  else
    bad "$t does not compile"
  fi
done
"$lvtc" line_error.lv.html -o "$tmp/line_error.lv.h"
err=$(gcc -std=c17 -I"$root" -I"$tmp" -c line_error.c -o "$tmp/le.o" 2>&1)
if printf '%s\n' "$err" | grep -q '^line_error.lv.html:3:.*no_such_variable'; then
  ok "a C error in an expression points at line_error.lv.html:3"
else
  bad "C error location: $err"
fi
"$lvtc" --type nope ok/everything.lv.html -o "$tmp/x.h" 2>/dev/null
if [ $? -eq 0 ]; then ok "--type names the state type"; else bad "--type"; fi
"$lvtc" 2>/dev/null; rc=$?
if [ $rc -eq 2 ]; then ok "bad usage exits 2"; else bad "bad usage exits $rc"; fi
echo "templates: $passed passed, $failed failed"
[ $failed -eq 0 ]
