#!/bin/sh
# postgres-locale.sh - /usr/bin/locale of the prisync-test/postgres:15 image: initdb runs
# `locale -a` to import the system's collations; the image has C.utf8 (from libc-bin) besides
# the built-in C and POSIX.
if [ "${1:-}" = -a ]; then
	printf '%s\n' C C.utf8 POSIX
fi
