#!/usr/bin/env bash
# Runs every test of the workspace against real services it starts itself:
# a throwaway PostgreSQL (initdb/pg_ctl as the postgres user, a free loopback port, data in
# a temp dir), a Redis server (no persistence), a NATS server with JetStream and a
# Kafka-protocol broker (tansu, in memory), each on a free loopback port, stopped again on
# exit; the status page test runs Debian's chromium headless. Installs what is missing
# (Debian packages, cargo-nextest, tansu — built from crates.io once, about 8 minutes on
# 2 cores, then cached in ~/.cargo/bin). Extra arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

missing=()
[ -n "$(pg_bin)" ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nats-server >/dev/null || missing+=(nats-server)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PG_BIN=$(pg_bin)
[ -x "$PG_BIN/initdb" ] || { log "no initdb found after install"; exit 1; }

if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

TANSU_VERSION=0.6.0
if ! tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  log "installing tansu $TANSU_VERSION (the Kafka-protocol broker of the Kafka tests)"
  cargo install tansu --version "$TANSU_VERSION" --locked --no-default-features \
    --features dynostore --target-dir "${TMPDIR:-/tmp}/sluice-tansu-build"
  rm -rf "${TMPDIR:-/tmp}/sluice-tansu-build"
fi

work=$(mktemp -d /tmp/sluice-test.XXXXXX)
chmod 755 "$work"
pgdata="$work/pg"
mkdir -p "$pgdata"
chown postgres:postgres "$pgdata"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
redis_port=$(free_port)
nats_port=$(free_port)
nats_pid=
kafka_port=$(free_port)
kafka_pid=

small_fs="$work/small-fs"
cleanup() {
  umount "$small_fs" 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  [ -z "$nats_pid" ] || kill "$nats_pid" 2>/dev/null || true
  [ -z "$kafka_pid" ] || kill "$kafka_pid" 2>/dev/null || true
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 10 s for server $1 to accept connections on port $2; else prints its log $3.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  log "$1 did not start"
  cat "$3" >&2
  exit 1
}

log "starting PostgreSQL on 127.0.0.1:$port"
runuser -u postgres -- "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w \
  -o "-p $port -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres sluice

export SLUICE_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/sluice"

log "starting Redis on 127.0.0.1:$redis_port"
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work/redis" --daemonize yes --logfile "$work/redis/server.log"
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null || { log "Redis did not start"; exit 1; }
export SLUICE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"

log "starting NATS (JetStream) on 127.0.0.1:$nats_port"
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
nats_pid=$!
wait_port NATS "$nats_port" "$work/nats.log"
export SLUICE_TEST_NATS_URL="nats://127.0.0.1:$nats_port"
log "starting tansu (Kafka protocol) on 127.0.0.1:$kafka_port"
tansu broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
  --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
kafka_pid=$!
wait_port tansu "$kafka_port" "$work/tansu.log"
export SLUICE_TEST_KAFKA_BROKER="127.0.0.1:$kafka_port"

# The headless browser of the status page test.
export SLUICE_TEST_CHROMIUM="$(command -v chromium)"

# A tiny filesystem for the write-ahead log's disk-full test.
mkdir -p "$small_fs"
mount -t tmpfs -o size=256k tmpfs "$small_fs"
export SLUICE_TEST_SMALL_FS="$small_fs"

# Generated pipeline projects build into the workspace's target directory, reusing its
# compiled dependencies, and cache their programs under the temp dir.
export SLUICE_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export SLUICE_CACHE="$work/cache"

cargo nextest run --workspace --no-fail-fast "$@"
