# Sourced by the postgres image's entrypoint on the first start only, after it
# created the database "pay" owned by pay_owner (POSTGRES_USER). pay_app may
# log in; what it may touch is granted by pay-fcgi's own migrations.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v pw="$(cat /etc/conduit/db/app-password)" <<'EOSQL'
CREATE ROLE pay_app LOGIN PASSWORD :'pw';
EOSQL
