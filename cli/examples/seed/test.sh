#!/bin/sh
# slugify's tests: prints one line per case; exit status 1 when any fails.
status=0
check() {
  got=$(sh ./slugify.sh "$1")
  if [ "$got" = "$2" ]; then
    echo "ok    '$1' -> '$got'"
  else
    echo "FAIL  '$1' -> '$got' (expected '$2')"
    status=1
  fi
}
check "Hello" "hello"
check "Hello World" "hello-world"
check "Hello Big World" "hello-big-world"
exit $status
