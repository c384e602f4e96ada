#!/usr/bin/env bash
# The main job: set up and build (scripts/setup.sh), check every example with
# aoscheck, then run the weekly newsletter (language.md §9.2) end to end on the
# embedded default store (./.aos in build/demo) against local stand-in
# services (tests/standin/standin.py: analytics, a CMS-like REST API and an
# OpenAI-compatible model server on loopback): the run stops at the `review`
# approval, is approved, and finishes; a second run for the same week does
# not post again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
scripts/setup.sh
BUILD_DIR=${AOS_BUILD_DIR:-build}
AOSCHECK="$ROOT/$BUILD_DIR/aoscheck"
AOSRUN="$ROOT/$BUILD_DIR/aosrun"

echo "== aoscheck --config examples/aos.yaml examples/*.aos"
"$AOSCHECK" --config examples/aos.yaml examples/*.aos
echo
echo "== aoscheck plan examples/weekly_newsletter.aos --input week=2026-W48"
"$AOSCHECK" plan examples/weekly_newsletter.aos --config examples/aos.yaml --input week=2026-W48

DEMO="$ROOT/$BUILD_DIR/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
python3 "$ROOT/tests/standin/standin.py" --port 0 --port-file port >standin.log 2>&1 &
STANDIN=$!
trap 'kill $STANDIN 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
PORT=$(cat port)
sed "s/127.0.0.1:18080/127.0.0.1:$PORT/" "$ROOT/examples/aos.yaml" >aos.yaml
export ANALYTICS_URL="http://127.0.0.1:$PORT" CMS_URL="http://127.0.0.1:$PORT"
export CMS_TOKEN="demo-token-$RANDOM"
WEEK=2026-W48

echo
echo "== stand-in services on 127.0.0.1:$PORT; data directory $DEMO/.aos"
echo "== aosrun weekly_newsletter.aos --input week=$WEEK --run-id newsletter-$WEEK"
set +e
"$AOSRUN" "$ROOT/examples/weekly_newsletter.aos" --input week=$WEEK --run-id "newsletter-$WEEK"
rc=$?
set -e
echo "(exit $rc: waiting for the review approval)"
[ $rc = 75 ] || { echo "demo: expected the run to wait (75)"; exit 1; }

echo
echo "== aosrun inbox"
"$AOSRUN" inbox
echo
echo "== aosrun approve newsletter-$WEEK review --comment 'ship it'"
"$AOSRUN" approve "newsletter-$WEEK" review --comment "ship it"
echo
echo "== aosrun status newsletter-$WEEK"
"$AOSRUN" status "newsletter-$WEEK"
echo
echo "== aosrun state Campaign"
"$AOSRUN" state Campaign
echo
echo "== a second run for the same week, approved: the CMS is not posted to again"
set +e
SECOND=$("$AOSRUN" "$ROOT/examples/weekly_newsletter.aos" --input week=$WEEK --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
set -e
"$AOSRUN" approve "$SECOND" review
echo
echo "== what the CMS received (requests per Idempotency-Key)"
python3 - "$PORT" <<'EOF'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1]))
print(json.dumps({"posts": stats["posts"], "requests_by_key": stats["requests_by_key"]}))
assert stats["posts"] == 1, "the CMS should hold exactly one post"
EOF
echo
echo "== aosrun cost (model spending at the config's prices)"
"$AOSRUN" cost
echo
echo "== aosrun verify"
"$AOSRUN" verify
