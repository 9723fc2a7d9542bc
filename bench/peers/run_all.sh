#!/usr/bin/env bash
# Side-by-side throughput benchmark of LLM-as-judge tools against one local
# fake OpenAI-compatible judge server.  See README.md.
#
# Env overrides (defaults in brackets):
#   N [200]              cases per run
#   CRITERIA [1]         rubric criteria per case (1..5, see cases.py); exported
#                        to the runners as BENCH_CRITERIA
#   LATENCY_MS [200]     fake judge latency per request
#   TOOLS ["deepeval inspect promptfoo"]   runners/<tool>.sh to run
#   BEST_C ["50 200"]    explicit concurrency values for the "cold_cXX" rows;
#                        the first one is also used for the prime/warm rows
#   REPS [3]             repetitions per row (median reported)
#   RUN_TIMEOUT [600]    seconds per tool run
#   PORT [8811]          server port (127.0.0.1 only)
#   SERVER_MAX_CONC [0]  >0: server answers 429 + Retry-After beyond this in-flight
#   WORK [.work/run beside this script]   scratch: per-run tool state, raw logs
#   RESULTS_MD [results.md beside this script]
#   PEER_VENV [.work/venv]  PEER_NPM [.work/npm]
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-200}"
export BENCH_CRITERIA="${CRITERIA:-1}"
LATENCY_MS="${LATENCY_MS:-200}"
TOOLS="${TOOLS:-deepeval inspect promptfoo}"
BEST_C="${BEST_C:-50 200}"
REPS="${REPS:-3}"
RUN_TIMEOUT="${RUN_TIMEOUT:-600}"
PORT="${PORT:-8811}"
SERVER_MAX_CONC="${SERVER_MAX_CONC:-0}"
WORK="${WORK:-$HERE/.work/run}"
RESULTS_MD="${RESULTS_MD:-$HERE/results.md}"
export PEER_VENV="${PEER_VENV:-$HERE/.work/venv}"
export PEER_NPM="${PEER_NPM:-$HERE/.work/npm}"
export PEERS_DIR="$HERE"
export OPENAI_API_KEY="sk-dummy-not-a-key"
PY="$PEER_VENV/bin/python"
HOSTURL="http://127.0.0.1:$PORT"
BASE_URL="$HOSTURL/v1"
FIRST_C="${BEST_C%% *}"

[ -x "$PY" ] || { echo "no venv at $PEER_VENV: run setup_peers.sh" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is required" >&2; exit 2; }

rm -rf "$WORK"; mkdir -p "$WORK/logs" "$WORK/state"
RESULTS_JSONL="$WORK/results.jsonl"
: > "$RESULTS_JSONL"

if curl -s -o /dev/null "$HOSTURL/stats"; then
  echo "port $PORT already serves something; set PORT" >&2; exit 2
fi

# ---- server ---------------------------------------------------------------
"$PY" "$HERE/fake_judge_server.py" --host 127.0.0.1 --port "$PORT" \
  --latency-ms "$LATENCY_MS" --max-concurrency "$SERVER_MAX_CONC" \
  > "$WORK/logs/server.log" 2>&1 &
SERVER_PID=$!
cleanup() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 100); do curl -s -o /dev/null "$HOSTURL/stats" && break; sleep 0.1; done
curl -s -o /dev/null "$HOSTURL/stats" || { echo "server did not start" >&2; cat "$WORK/logs/server.log"; exit 2; }
echo "fake judge server pid $SERVER_PID at $BASE_URL, latency ${LATENCY_MS} ms"

CLK_TCK=$(getconf CLK_TCK)
server_cpu() { awk -v t="$CLK_TCK" '{printf "%.3f", ($14+$15)/t}' "/proc/$SERVER_PID/stat"; }

# ---- versions ---------------------------------------------------------------
{
  echo "## Versions"
  echo
  echo "- python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
  for p in deepeval inspect_ai openai aiohttp; do
    echo "- $p: $("$PY" -c "import importlib.metadata as m; print(m.version('$p'))" 2>/dev/null || echo n/a)"
  done
  echo "- node: $(node --version)"
  echo "- promptfoo: $(PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 NODE_NO_WARNINGS=1 "$PEER_NPM/node_modules/.bin/promptfoo" --version 2>/dev/null | tail -1)"
  echo "- judge model name sent: gpt-4.1 (the fake server ignores it)"
  echo "- run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, N=$N, criteria/case=$BENCH_CRITERIA, latency=${LATENCY_MS}ms, REPS=$REPS, BEST_C=\"$BEST_C\", SERVER_MAX_CONC=$SERVER_MAX_CONC"
} > "$WORK/versions.md"

# ---- one measured run --------------------------------------------------------
# run_one TOOL SCENARIO REP CONC CACHE STATE_DIR
run_one() {
  local tool="$1" scen="$2" rep="$3" conc="$4" cache="$5" state="$6"
  local runner="$HERE/runners/$tool.sh"
  local tag="${tool}_${scen}_r${rep}"
  local log="$WORK/logs/$tag.log" tf="$WORK/logs/$tag.time"
  curl -s -X POST "$HOSTURL/stats/reset" > /dev/null
  local c0 c1 t0 t1 rc stats
  c0=$(server_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tf" timeout "$RUN_TIMEOUT" "$runner" "$N" "$conc" "$BASE_URL" "$cache" "$state" \
    > "$log" 2>&1 < /dev/null
  rc=$?
  t1=$(date +%s.%N)
  c1=$(server_cpu)
  stats=$(curl -s "$HOSTURL/stats")
  "$PY" "$HERE/bench_lib.py" record --out "$RESULTS_JSONL" --tool "$tool" --scenario "$scen" \
    --rep "$rep" --conc "$conc" --cache "$cache" --n "$N" --latency-ms "$LATENCY_MS" \
    --wall "$(echo "$t1 - $t0" | bc -l)" --rc "$rc" --timefile "$tf" --log "$log" \
    --stats "$stats" --srv-cpu "$(echo "$c1 - $c0" | bc -l)"
  [ "$rc" -eq 0 ] || echo "  !! $tag exited $rc; see $log" >&2
}

for tool in $TOOLS; do
  [ -x "$HERE/runners/$tool.sh" ] || { echo "no runner runners/$tool.sh" >&2; continue; }
  echo "== $tool"
  for rep in $(seq 1 "$REPS"); do
    run_one "$tool" cold_default "$rep" default off "$WORK/state/${tool}_cold_default_r$rep"
  done
  for c in $BEST_C; do
    for rep in $(seq 1 "$REPS"); do
      run_one "$tool" "cold_c$c" "$rep" "$c" off "$WORK/state/${tool}_cold_c${c}_r$rep"
    done
  done
  # prime: cache on, empty cache; the last prime's state is reused by warm
  for rep in $(seq 1 "$REPS"); do
    rm -rf "$WORK/state/${tool}_cache"
    run_one "$tool" "prime_c$FIRST_C" "$rep" "$FIRST_C" on "$WORK/state/${tool}_cache"
  done
  for rep in $(seq 1 "$REPS"); do
    run_one "$tool" "warm_c$FIRST_C" "$rep" "$FIRST_C" on "$WORK/state/${tool}_cache"
  done
done

"$PY" "$HERE/bench_lib.py" report "$RESULTS_JSONL" --versions "$WORK/versions.md" > "$RESULTS_MD"
cp "$RESULTS_JSONL" "${RESULTS_MD%.md}.jsonl"
echo "wrote $RESULTS_MD and ${RESULTS_MD%.md}.jsonl (raw logs in $WORK/logs)"
