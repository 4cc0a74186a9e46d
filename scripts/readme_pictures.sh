#!/usr/bin/env bash
# Regenerate the README's pictures, docs/explain-example.png and docs/statement-example.png,
# offline with the tiny test profile:
#   `fairsplit up --demo` registers the demo platform and artists in a scratch folder;
#   24 demo events dated last month are signed with the demo platform's key and ingested;
#   last month is closed and exported as a PDF statement, whose first page becomes a PNG;
#   `fairsplit explain` draws one of those events that names one recognised artist.
# Needs ./.venv (scripts/setup.sh) and pdftoppm (poppler-utils). Takes about two minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fairsplit="$repo/.venv/bin/fairsplit"
python="$repo/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HF_HUB_OFFLINE=1

"$fairsplit" up --demo --events 1 --json >/dev/null
period=$("$python" - <<'EOF'
import json
import random
from datetime import UTC, datetime, timedelta

from ledger.crypto import read_private_key
from services.demo import DEMO_PLATFORM, sample_event
from services.signing import sign_event

this_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
last_month = (this_month - timedelta(days=1)).replace(day=1, hour=12)
key = read_private_key(f"keys/{DEMO_PLATFORM}.platform.pem")
rng = random.Random(2026)
with open("last-month.jsonl", "w") as out:
    for n in range(24):
        body = sample_event(rng, DEMO_PLATFORM, last_month + timedelta(days=n, hours=n % 5))  # days 1 to 24
        out.write(json.dumps(sign_event(body, key)) + "\n")
print(last_month.strftime("%Y-%m"))
EOF
)
"$fairsplit" ingest last-month.jsonl >/dev/null
"$fairsplit" payouts close "$period" --min-payout 0.10 >/dev/null
"$fairsplit" statements export "$period" --format pdf --out statements >/dev/null
pdftoppm -png -r 90 -f 1 -l 1 -singlefile statements/statements-"$period"-USD.pdf statement
"$python" -c "from PIL import Image; Image.open('statement.png').convert('RGB').quantize(64).save('$repo/docs/statement-example.png', optimize=True)"

event=$("$python" - <<'EOF'
import json
import sqlite3

rows = sqlite3.connect("fairsplit.db").execute("SELECT event_id, attribution_json FROM events ORDER BY occurred_at")
for event_id, recorded in rows:
    players = json.loads(recorded)["players"]
    if len(players) == 2 and all(p["recognised"] for p in players):  # a two-player split shows the formula
        print(event_id)
        break
EOF
)
"$fairsplit" explain "$event" --out why.png >/dev/null
"$python" -c "from PIL import Image; Image.open('why.png').convert('RGB').quantize(128).save('$repo/docs/explain-example.png', optimize=True)"
ls -l "$repo/docs/explain-example.png" "$repo/docs/statement-example.png"
