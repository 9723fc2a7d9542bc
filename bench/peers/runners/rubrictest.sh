#!/usr/bin/env bash
# runner contract: rubrictest.sh N CONCURRENCY BASE_URL CACHE(off|on) STATE_DIR
#
# Writes one suite (N cases x BENCH_CRITERIA text criteria, fixed responses, judged by the
# `openai` judge plugin at BASE_URL) and runs it with pytest.
#   CONCURRENCY  'default' -> no `concurrency:` (the openai plugin's default, 32)
#                int       -> judge `concurrency: INT`
#   CACHE        off -> --rubric-cache=off ; on -> --rubric-cache=use with the results
#                database STATE_DIR/rubrictest.db (prime, then warm)
# The Python that runs rubrictest: $RUBRICTEST_PY, else the repository's .venv.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N="$1"; CONC="$2"; BASE_URL="$3"; CACHE="$4"; STATE="$5"
REPO="$(cd "$HERE/../../.." && pwd)"
PY="${RUBRICTEST_PY:-$REPO/.venv/bin/python}"
mkdir -p "$STATE/suite"
export OPENAI_API_KEY="${OPENAI_API_KEY:-sk-dummy}"
"$PY" - "$N" "$CONC" "$BASE_URL" "$STATE/suite" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(sys.argv[0]), "..")))
from cases import make_cases
n, conc, base_url, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
judge = {"plugin": "openai", "model": os.environ.get("JUDGE_MODEL", "gpt-4.1"), "base_url": base_url}
if conc != "default":
    judge["concurrency"] = int(conc)
suite = {
    "version": 1, "suite": "bench", "judge": judge,
    "cases": [{"id": c["id"], "input": c["question"], "output": c["response"],
               "criteria": [{"id": f"k{j + 1}", "text": t} for j, t in enumerate(c["criteria"])]}
              for c in make_cases(n)],
}
# JSON is YAML
open(os.path.join(out, "test_bench.rubric.yaml"), "w").write(json.dumps(suite))
open(os.path.join(out, "pytest.ini"), "w").write("[pytest]\n")
PYEOF
MODE=use; [ "$CACHE" = "off" ] && MODE=off
set +e
(cd "$STATE/suite" && "$PY" -m pytest -q -p no:cacheprovider --rubric-db "$STATE/rubrictest.db" \
   --rubric-cache "$MODE" test_bench.rubric.yaml </dev/null)
RC=$?
set -e
"$PY" - "$STATE/rubrictest.db" "$N" "$CONC" <<'PYEOF'
import json, sqlite3, sys
db, n, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
run = con.execute("select id from runs order by started_at desc limit 1").fetchone()[0]
counts = dict(con.execute("select status, count(*) from verdicts where run_id = ? group by status", (run,)))
scored = counts.get("PASS", 0) + counts.get("FAIL", 0) + counts.get("MISSED", 0)
print("RESULT " + json.dumps({"tool": "rubrictest", "n": n, "scored": scored, "passed": counts.get("PASS", 0),
                              "errors": counts.get("ERROR", 0),
                              "concurrency": 32 if conc == "default" else int(conc),
                              "concurrency_note": "scored counts criteria (verdicts), not cases"}))
PYEOF
# pytest exits 1 when some criterion fails; that is a result, not a crash
[ $RC -eq 0 ] || [ $RC -eq 1 ] || exit $RC
