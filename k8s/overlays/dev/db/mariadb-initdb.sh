# Sourced by the mariadb image's entrypoint on the first start only, after it
# created the database "blog" and its owner (MARIADB_USER, all privileges).
# The serving pods log in as blog_app, which may only read and write rows.
blog_app_pw=$(docker_sql_escape_string_literal "$(cat /etc/conduit/db/app-password)")
docker_process_sql --database=mysql <<EOSQL
CREATE USER IF NOT EXISTS 'blog_app'@'%' IDENTIFIED BY '${blog_app_pw}';
GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON \`blog\`.* TO 'blog_app'@'%';
EOSQL
unset blog_app_pw
