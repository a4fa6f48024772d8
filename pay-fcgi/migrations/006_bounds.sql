-- 006_bounds.sql: every balance stays an exact JSON number (pay.md, "Money
-- bounds"): within +-(2^53-1) minor units, the system funding accounts
-- included. The functions refuse a movement that would cross the bound with
-- 402 balance_limit_exceeded; these constraints make it a fact of the data.
-- NOT VALID: a database that reached such a balance before keeps its rows
-- (they are ledger history) but no new row or update may cross the bound.
ALTER TABLE accounts ADD CONSTRAINT accounts_balance_bounded
	CHECK (balance BETWEEN -9007199254740991 AND 9007199254740991)
	NOT VALID;
ALTER TABLE entries ADD CONSTRAINT entries_balance_after_bounded
	CHECK (balance_after BETWEEN -9007199254740991 AND 9007199254740991)
	NOT VALID;
