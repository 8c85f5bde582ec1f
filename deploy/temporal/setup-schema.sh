#!/bin/sh
# One-shot, in temporalio/admin-tools before temporalio/server starts (docker-compose.yml): creates
# Temporal's two databases and brings both schemas to the version of the image, which the compose
# file pins to the server's. Safe to re-run on every `docker compose up`: `setup-schema -v 0.0`
# would reset a live database's recorded version (and the next update would replay v1.0 over it),
# so it runs only where `update-schema` finds no schema yet.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
schemas=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" --port "${DB_PORT:-5432}" --user "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  database=${pair%%:*}
  versioned=$schemas/${pair#*:}/versioned
  # Fails when the database exists (a re-run); any other failure shows in the steps below.
  sql --db "$database" create 2>/dev/null || echo "database $database exists"
  if ! sql --db "$database" update-schema -d "$versioned"; then
    echo "database $database has no schema yet: setting it up"
    sql --db "$database" setup-schema -v 0.0
    sql --db "$database" update-schema -d "$versioned"
  fi
done
echo "Temporal schemas are up to date"
