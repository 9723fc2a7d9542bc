#!/usr/bin/env bash
# runner contract: promptfoo.sh N CONCURRENCY BASE_URL CACHE(off|on) STATE_DIR
#
# promptfoo eval with an `echo` provider (the output under test is the fixed
# response) and an `llm-rubric` assertion per test, graded by
# openai:chat:$JUDGE_MODEL at BASE_URL.
#   CONCURRENCY  'default' -> no flag (promptfoo default maxConcurrency 4)
#                int       -> --max-concurrency INT
#   CACHE        off -> --no-cache ; on -> cache enabled, PROMPTFOO_CACHE_PATH under STATE_DIR
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N="$1"; CONC="$2"; BASE_URL="$3"; CACHE="$4"; STATE="$5"
PY="${PEER_VENV:-$HERE/../.work/venv}/bin/python"
PF="${PEER_NPM:-$HERE/../.work/npm}/node_modules/.bin/promptfoo"
mkdir -p "$STATE"
export OPENAI_API_KEY="${OPENAI_API_KEY:-sk-dummy}" OPENAI_BASE_URL="$BASE_URL"
export PROMPTFOO_CONFIG_DIR="$STATE/pfconfig" PROMPTFOO_CACHE_PATH="$STATE/pfcache"
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_DISABLE_SHARING=1
export PROMPTFOO_DISABLE_REMOTE_GENERATION=1 PROMPTFOO_SELF_HOSTED=1 NODE_NO_WARNINGS=1
# By default promptfoo writes a per-run debug log file (~0.4-0.7 MB for 200 cases)
# and, on fast runs, crashes at exit with winston "write after end" (exit 1)
# after the results are written.  Disable the debug file log (error log kept).
export PROMPTFOO_DISABLE_DEBUG_LOG="${PROMPTFOO_DISABLE_DEBUG_LOG:-1}"
CFG="$STATE/promptfooconfig.yaml"
# JSON is valid YAML; generated from the shared cases
"$PY" - "$N" "$BASE_URL" "$CFG" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ.get("PEERS_DIR", os.getcwd()))
from cases import make_cases
n, base_url, cfg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
model = os.environ.get("JUDGE_MODEL", "gpt-4.1")
config = {
    "description": "rubric judge throughput benchmark",
    "prompts": ["{{response}}"],
    "providers": ["echo"],
    "defaultTest": {"options": {"provider": {
        "id": f"openai:chat:{model}",
        "config": {"apiBaseUrl": base_url, "apiKey": os.environ.get("OPENAI_API_KEY", "sk-dummy")}}}},
    "tests": [{"description": c["id"], "vars": {"question": c["question"], "response": c["response"]},
               "assert": [{"type": "llm-rubric", "value": k} for k in c["criteria"]]} for c in make_cases(n)],
}
open(cfg, "w").write(json.dumps(config, indent=1))
PYEOF
ARGS=(eval -c "$CFG" -o "$STATE/out.json" --no-progress-bar --no-table)
[ "$CONC" != "default" ] && ARGS+=(--max-concurrency "$CONC")
[ "$CACHE" = "off" ] && ARGS+=(--no-cache)
set +e
"$PF" "${ARGS[@]}" </dev/null
RC=$?
set -e
"$PY" - "$STATE/out.json" "$N" "$CONC" <<'PYEOF'
import json, sys
path, n, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
scored = passed = errors = 0
try:
    d = json.load(open(path))
    for r in d["results"]["results"]:
        gr = r.get("gradingResult") or {}
        comps = gr.get("componentResults") or [gr]
        for c in comps:
            reason = str(c.get("reason", ""))
            if r.get("error") and not comps:
                errors += 1
            elif "error" in reason.lower() and not c.get("pass"):
                errors += 1
            else:
                scored += 1
                passed += bool(c.get("pass"))
except Exception as e:
    print("parse error:", e, file=sys.stderr)
print("RESULT " + json.dumps({"tool": "promptfoo", "n": n, "scored": scored, "passed": passed,
                              "errors": errors, "concurrency": 4 if conc == "default" else int(conc)}))
PYEOF
# promptfoo exits 100 when some assertion fails; treat as ok for timing purposes
[ $RC -eq 0 ] || [ $RC -eq 100 ] || exit $RC
