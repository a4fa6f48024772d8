-- 002_functions.sql: once the service's functions; they now live in the
-- repeatable R__functions.sql, which `pay-fcgi --migrate` re-applies
-- whenever its content changes. Kept, empty, so that version 2 means the
-- same thing in every database.
SELECT 1;
