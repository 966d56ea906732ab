#!/usr/bin/env bash
# SQLite's own share of one scheduler pass: the statements a pass of 300 SLA breaches runs (as
# `fire_sla_batch` sends them: list, take, clocks, mark, tickets, audit rows, messages, the
# warnings' timers cancelled), replayed in the sqlite3 shell on the scheduler benchmark's
# database (10,000 tickets, 40,000 timers), four times inside a savepoint, warm, with foreign
# keys on as the bot has them. Prints SQLite's CPU time (user + sys) per statement for the last
# round, then the time of one durable COMMIT of the pass (synchronous=FULL).
# Needs sqlite3 and python3. `bash benches/scheduler-floor.sh`
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/floor.db"
for f in migrations/*.sql; do sqlite3 "$db" < "$f"; done
sqlite3 "$db" "PRAGMA journal_mode=WAL;" > /dev/null
python3 - "$db" "$dir" <<'PY'
import json, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
now, n, due = 1_000_000, 10_000, 300
seq = f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n})"
c.executescript(f"""
INSERT INTO guild_settings (guild_id, triage_channel_id, agent_role_id, updated_at) VALUES (1, 10, 20, 0);
{seq} INSERT INTO tickets (id, guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
  SELECT i, 1, 'request', i, 'Bench ticket', 'in progress', 4, 7, {now} - 3600000, {now} FROM seq;
{seq} INSERT INTO sla_clocks (id, guild_id, ticket_id, clock, cycle, target, started_at, due_at)
  SELECT 2 * i + c, 1, i, CASE c WHEN 0 THEN 'response' ELSE 'resolution' END, 1, '1h', {now} - 3600000,
         CASE WHEN c = 1 AND i <= {due} THEN {now} - 1000 ELSE 99000000 + i END
  FROM seq, (SELECT 0 AS c UNION ALL SELECT 1);
{seq} INSERT INTO timers (guild_id, key, kind, ticket_id, due_at, payload)
  SELECT 1, 'sla:' || (2 * i + c) || ':' || w, 'sla_' || w, i,
         CASE WHEN c = 1 AND w = 'breach' AND i <= {due} THEN {now} - 1000 ELSE 99000000 + i END, CAST(2 * i + c AS TEXT)
  FROM seq, (SELECT 0 AS c UNION ALL SELECT 1), (SELECT 'warn' AS w UNION ALL SELECT 'breach');
""")
rows = c.execute(f"SELECT id, payload, ticket_id FROM timers WHERE due_at <= {now} ORDER BY due_at, id LIMIT 500").fetchall()
c.close()
timers = ",".join(str(r[0]) for r in rows)
clocks = ",".join(r[1] for r in rows)
tickets = [str(r[2]) for r in rows]
columns = open("src/store/mod.rs").read().split('macro_rules! ticket_columns')[1].split('"')[1]
notice = json.dumps({"content": "y" * 280})  # a breach notice is about 310 bytes stored
steps = [
    ("list due", f"SELECT count(*) FROM (SELECT * FROM timers WHERE due_at <= {now} ORDER BY due_at, id LIMIT 500)"),
    ("take", f"DELETE FROM timers WHERE id IN ({timers}) RETURNING id"),
    ("read clocks", f"SELECT * FROM sla_clocks WHERE id IN ({clocks})"),
    ("mark clocks", f"UPDATE sla_clocks SET breached_at = 5, warned_at = coalesce(warned_at, 5) WHERE id IN ({clocks})"),
    ("read tickets", f"SELECT {columns} FROM tickets WHERE id IN ({','.join(tickets)})"),
    ("audit rows", "INSERT INTO audit_log (guild_id, ticket_id, actor_id, action, at, old_value, new_value) VALUES "
        + ",".join(f"(1,{t},NULL,'sla-breach',5,'resolution','1h')" for t in tickets)),
    ("messages", "INSERT INTO outbox (guild_id, op, channel_id, ticket_id, payload, created_at, next_attempt_at, rank) VALUES "
        + ",".join(f"(1,'post',10,{t},'{notice}',5,5,4)" for t in tickets)),
    ("cancel warnings", "DELETE FROM timers WHERE key IN (" + ",".join(f"'sla:{x}:warn'" for x in clocks.split(",")) + ")"),
]
with open(f"{out}/names", "w") as f:
    f.write("\n".join(name for name, _ in steps) + "\n")
with open(f"{out}/rounds.sql", "w") as f:
    f.write("PRAGMA foreign_keys=ON;\nPRAGMA synchronous=FULL;\nBEGIN IMMEDIATE;\n.output /dev/null\n.timer on\n")
    for _ in range(4):
        f.write("SAVEPOINT round;\n" + "".join(sql + ";\n" for _, sql in steps) + "ROLLBACK TO round;\n")
    f.write("".join(sql + ";\n" for _, sql in steps) + "COMMIT;\n")
PY
sqlite3 "$db" < "$dir/rounds.sql" 2>&1 | awk '/Run Time/ {print $6 + $8, $4}' > "$dir/times"
k=$(wc -l < "$dir/names")
# Per round: SAVEPOINT, the k steps, ROLLBACK TO; then the k steps once more and the COMMIT.
tail -n $((2 * k + 3)) "$dir/times" | head -n $((k + 1)) | tail -n "$k" | cut -d' ' -f1 > "$dir/last"
paste "$dir/names" "$dir/last" | awk -F'\t' '{printf "%-16s %6.2f ms CPU\n", $1, $2 * 1000; s += $2} END {printf "%-16s %6.2f ms CPU\n", "all statements", s * 1000}'
tail -n 1 "$dir/times" | awk '{printf "%-16s %6.2f ms CPU, %.3f s wall (the shell prints wall time in ms steps)\n", "COMMIT", $1 * 1000, $2}'
