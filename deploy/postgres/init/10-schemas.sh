#!/usr/bin/env bash
# One database, one schema and one login role per service; a role can use only its own schema.
# Used by docker-compose's postgres (docker-entrypoint-initdb.d) and by the native devstack.
set -euo pipefail
export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
DB="${APP_DB:-aftersales}"
PSQL=(psql -v ON_ERROR_STOP=1 -X -q)

if ! "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB}'" | grep -q 1; then
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"${DB}\""
fi
"${PSQL[@]}" -d "$DB" <<SQL
REVOKE ALL ON DATABASE "${DB}" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
SQL
for svc in ticketing dispatch parts settlement notifications; do
  var="$(echo "${svc}_DB_PASSWORD" | tr '[:lower:]' '[:upper:]')"
  pw="${!var:-${svc}-dev-password}"
  "${PSQL[@]}" -d "$DB" -v svc="$svc" -v pw="$pw" -v db="$DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'svc') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'svc') \gexec
ALTER ROLE :"svc" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
GRANT CONNECT ON DATABASE :"db" TO :"svc";
CREATE SCHEMA IF NOT EXISTS :"svc" AUTHORIZATION :"svc";
REVOKE ALL ON SCHEMA :"svc" FROM PUBLIC;
ALTER ROLE :"svc" SET search_path = :"svc", public;
SQL
done
