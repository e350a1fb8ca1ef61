#!/bin/sh
# postgres-entrypoint.sh - entrypoint of the prisync-test/postgres:15 image (busybox sh). Acts
# like the official image's entrypoint for POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA
# and POSTGRES_HOST_AUTH_METHOD: initdb on first start only, then exec postgres.
set -eu

pg_log()
{
	printf 'postgres-entrypoint: %s\n' "$*" >&2
}

# `docker run IMAGE -c foo=bar` means postgres with options, as in the official image
if [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "$(id -u)" = 0 ]; then
	# a fresh volume or bind mount may belong to root: hand it to postgres, then drop root
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 3777 /var/run/postgresql
	chown -R 999:999 "$PGDATA" /var/run/postgresql
	# absolute path: busybox sh would run its own (smaller) setpriv applet
	exec /usr/bin/setpriv --reuid=999 --regid=999 --clear-groups -- "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	if [ -n "${POSTGRES_HOST_AUTH_METHOD:-}" ]; then
		auth=$POSTGRES_HOST_AUTH_METHOD
	elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
		auth=scram-sha-256
	else
		auth=trust
		pg_log "POSTGRES_PASSWORD is not set: host connections are trusted"
	fi
	pg_log "initializing $PGDATA (user $user, database $db, host auth $auth)"
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	# POSTGRES_INITDB_ARGS is word-split on purpose, as in the official image
	# shellcheck disable=SC2086
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		printf '%s\n' "$POSTGRES_PASSWORD" |
			initdb -D "$PGDATA" --username="$user" --pwfile=/dev/stdin --locale=C -E UTF8 \
				--auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	else
		initdb -D "$PGDATA" --username="$user" --locale=C -E UTF8 \
			--auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	fi
	printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
	if [ "$db" != postgres ]; then
		# single-user mode: nothing can connect (or look ready) before setup is complete
		qdb=$(printf '%s' "$db" | sed 's/"/""/g')
		if ! out=$(printf 'CREATE DATABASE "%s"\n' "$qdb" | postgres --single -D "$PGDATA" postgres 2>&1) ||
			printf '%s\n' "$out" | grep -q 'ERROR:'; then
			printf '%s\n' "$out" >&2
			pg_log "cannot create database $db"
			exit 1
		fi
	fi
	pg_log "initialized"
fi

exec "$@"
