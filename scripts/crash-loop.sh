#!/usr/bin/env bash
# The kill -9 crash loop on its own, with more kills than CI's 20:
#   scripts/crash-loop.sh [--kills N] [--seed S] [--only redis|state|kafka]
# Starts the services as scripts/test.sh does, runs tests/crash_loop_e2e.rs and prints
# each loop's figures (kills, fail points fired, recovery times).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=100
seed=
filter='binary(crash_loop_e2e)'
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --only)
      case "$2" in
        redis) filter='test(kill_9_loses_nothing_and_counts_nothing_twice)' ;;
        state) filter='test(kill_9_keeps_update_state_by_key_exact_through_checkpoints)' ;;
        kafka) filter='test(kill_9_over_a_kafka_direct_source_writes_every_record_to_postgres_exactly_once)' ;;
        *) echo "crash-loop.sh: --only is redis, state or kafka" >&2; exit 2 ;;
      esac
      shift 2 ;;
    *) echo "usage: scripts/crash-loop.sh [--kills N] [--seed S] [--only redis|state|kafka]" >&2; exit 2 ;;
  esac
done
export SLUICE_KILLS=$kills
[ -z "$seed" ] || export SLUICE_CRASH_SEED=$seed
exec scripts/test.sh -E "$filter" --no-capture
