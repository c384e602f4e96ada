#!/usr/bin/env bash
# The main job: set up and build (scripts/setup.sh), check every example with
# aoscheck, then run the weekly newsletter (language.md §9.2) end to end on the
# embedded default store (./.aos in build/demo) against local stand-in
# services (tests/standin/standin.py: analytics, a CMS-like REST API and an
# OpenAI-compatible model server on loopback): the run stops at the `review`
# approval, is approved, and finishes; a second run for the same week does
# not post again. Then the same workforce runs by itself under `aosrun serve`:
# the Monday trigger starts the week's newsletter (the serve clock is moved to
# just before Monday 09:00 Berlin time), a contact form's webhook starts the
# lead intake, both approvals are decided from the CLI through serve's API,
# and a client's reply arrives as a signed webhook and completes the
# follow-up that waited for it. Between the two, the canonical state:
# subscriber signals from two sources through versioned transforms into one
# Subscriber per person (an identity merge), a migration to a second
# version, a follow-up agent reading the subscriber's summary and the
# playbook from the knowledge base, and `aosrun history` of one subscriber.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
scripts/setup.sh
BUILD_DIR=${AOS_BUILD_DIR:-build}
AOSCHECK="$ROOT/$BUILD_DIR/aoscheck"
AOSRUN="$ROOT/$BUILD_DIR/aosrun"
export AOSRUN

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

echo
echo "== canonical state: subscriber signals from two sources, one record per person"
cat >signals.json <<'JSON'
{"ga4": [{"event_id": "1", "user_email": "Ann@Example.com", "event_name": "purchase"},
         {"event_id": "2", "user_email": "bob@example.com", "event_name": "page_view"}],
 "mail": [{"id": "m1", "handle": "@ann", "kind": "open"},
          {"id": "m2", "handle": "@ann", "email": "ann@example.com", "kind": "click"},
          {"id": "m3", "handle": "@cy", "kind": "open"}]}
JSON
echo "== aosrun subscriber_signals.aos --input-json @signals.json"
"$AOSRUN" "$ROOT/examples/subscriber_signals.aos" --input-json @signals.json --run-id signals-1
echo "== aosrun state Subscriber (@ann's newsletter record merged into Ann's analytics record)"
"$AOSRUN" state Subscriber
echo
echo "== aosrun history Subscriber ga4:ann@example.com"
"$AOSRUN" history Subscriber ga4:ann@example.com
echo
echo "== the follow-up file declares Subscriber v2 (a tier): its migration runs first"
"$AOSRUN" "$ROOT/examples/subscriber_follow_up.aos" --workflow playbook --run-id playbook-1
"$AOSRUN" schema Subscriber
echo
# A real SMTP server on loopback receives the note once it is released.
mkdir -p mail
/usr/bin/python3 "$ROOT/tests/standin/smtp_sink.py" --outdir mail --port-file smtp_port >smtp.log 2>&1 &
SMTP=$!
trap 'kill $SMTP 2>/dev/null || true; kill $STANDIN 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s smtp_port ] && break; sleep 0.1; done
sed -i "s/127.0.0.1:2525/127.0.0.1:$(cat smtp_port)/" aos.yaml
echo "== aosrun subscriber_follow_up.aos --workflow nudge --input email=ann@example.com"
set +e
"$AOSRUN" "$ROOT/examples/subscriber_follow_up.aos" --workflow nudge --input email=ann@example.com --run-id nudge-ann
rc=$?
set -e
[ $rc = 75 ] || { echo "demo: expected the nudge to wait for its release (75)"; exit 1; }
"$AOSRUN" inbox
"$AOSRUN" approve nudge-ann release --comment "nice"
ls mail/*.eml >/dev/null 2>&1 || { echo "demo: the note did not reach the SMTP server"; exit 1; }
echo "(the SMTP server received $(ls mail/*.eml | wc -l) message)"
kill $SMTP 2>/dev/null || true
echo
echo "== aosrun history Subscriber ga4:ann@example.com (now with the migration and the note)"
"$AOSRUN" history Subscriber ga4:ann@example.com | tail -n 8
echo
echo "== aosrun serve: the workforce runs by itself"
export CRM_URL="http://127.0.0.1:$PORT" CRM_TOKEN="demo-crm-$RANDOM"
export LEAD_HOOK_TOKEN="demo-lead-$RANDOM$RANDOM" MAIL_HOOK_SECRET="demo-mail-$RANDOM$RANDOM"
# The serve clock runs to 3 s before the next Monday 09:00 in Berlin.
OFFSET=$(python3 -c '
import datetime, zoneinfo
z = zoneinfo.ZoneInfo("Europe/Berlin")
now = datetime.datetime.now(z)
d = now + datetime.timedelta(days=(7 - now.weekday()) % 7)
m = d.replace(hour=9, minute=0, second=0, microsecond=0)
if m <= now:
    m += datetime.timedelta(days=7)
print("%ds" % max(0, int((m - now).total_seconds()) - 3))')
SERVE_DATA="$DEMO/serve-data"
AOS_CLOCK_OFFSET=$OFFSET "$AOSRUN" serve "$ROOT/examples/weekly_newsletter.aos" "$ROOT/examples/lead_intake.aos" \
    "$ROOT/examples/follow_up.aos" --data-dir "$SERVE_DATA" --listen 127.0.0.1:0 2>serve.log &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true; kill $STANDIN 2>/dev/null || true; kill $SMTP 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$SERVE_DATA/serve.json" ] && break; sleep 0.1; done
cat serve.log
python3 - "$SERVE_DATA" <<'PY'
import hashlib, hmac, json, os, subprocess, sys, time, urllib.request, urllib.error
data = sys.argv[1]
url = json.load(open(os.path.join(data, "serve.json")))["address"]
token = open(os.path.join(data, "serve.token")).read().strip()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def call(method, path, body=None, headers=None):
    req = urllib.request.Request(url + path, method=method, headers=headers or {},
                                 data=None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode()))
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

api = {"Authorization": "Bearer " + token}
print("-- a contact form posts a lead to the webhook /hooks/lead")
code, run = call("POST", "/hooks/lead", {"email": "ada@example.com", "name": "Ada", "company": "Analytical Engines",
                                          "message": "Could you help with our data pipelines?"},
                 {"Authorization": "Bearer " + os.environ["LEAD_HOOK_TOKEN"]})
print("   %d: run %s is %s" % (code, run["run_id"], run["status"]))
assert code == 201 and run["status"] == "waiting", run
lead_run = run["run_id"]
print("-- waiting for the Monday 09:00 trigger (the serve clock is 3 s before it)")
newsletter = None
for _ in range(200):
    code, runs = call("GET", "/api/runs?workflow=weekly_issue", headers=api)
    if runs:
        newsletter = runs[0]["run_id"]
        break
    time.sleep(0.1)
assert newsletter, "the Monday trigger did not start the newsletter"
print("   the trigger started run %s" % newsletter)
for _ in range(100):
    code, items = call("GET", "/api/inbox", headers=api)
    if len(items) >= 2:
        break
    time.sleep(0.1)
print("-- the inbox (also on the page at %s/)" % url)
for i in items:
    print("   %s  %s: %s" % (i["run_id"], i["name"], i["ask"]))
aosrun = os.environ["AOSRUN"]
def cli(*args):
    p = subprocess.run([aosrun, *args, "--data-dir", data], capture_output=True, text=True, timeout=120)
    print("   $ aosrun %s -> exit %d %s" % (" ".join(args), p.returncode, p.stdout.strip()[:120]))
    return p.returncode
print("-- decided from the CLI, which goes through serve's API")
assert cli("approve", newsletter, "review", "--comment", "ship it") == 0
assert cli("reject", lead_run, "send_reply", "--comment", "I will call Ada instead") == 0
print("-- a proposal goes out; the follow-up waits for the client's reply")
code, run = call("POST", "/api/runs", {"workflow": "follow_up", "run_id": "follow-ada",
                                       "input": {"client": "Analytical Engines", "proposal": "P-17"}}, api)
assert code in (200, 201) and run["status"] == "waiting", run
body = json.dumps({"run_id": "follow-ada", "text": "Yes, let us start next week."}).encode()
sig = hmac.new(os.environ["MAIL_HOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
code, run = call("POST", "/hooks/reply", body, {"X-Signature": "sha256=" + sig})
print("   the signed reply webhook: %d, run follow-ada %s: %s" % (code, run["status"], json.dumps(run["output"])))
assert code == 200 and run["status"] == "completed" and run["output"]["replied"] is True, run
PY
kill -TERM $SERVE
wait $SERVE || true
echo "== serve stopped; every run it made:"
"$AOSRUN" runs --data-dir "$SERVE_DATA"
"$AOSRUN" verify --data-dir "$SERVE_DATA"
