-- How each mail source is doing, written by the daemon after every round
-- with its server (and every failure), read by `postdesk status` and the
-- metrics endpoint: a mailbox that silently fails for days shows here.
CREATE TABLE source_health (
    source          TEXT    PRIMARY KEY,   -- the [[source]] name
    last_ok         INTEGER,               -- end of the last successful round
    last_error      TEXT,                  -- the last failure, as logged
    last_error_at   INTEGER,
    failing_since   INTEGER,               -- first failure since the last success; NULL when up
    failures        INTEGER NOT NULL DEFAULT 0,   -- in a row, since the last success
    failures_total  INTEGER NOT NULL DEFAULT 0,   -- ever, for the metrics counter
    next_try        INTEGER                -- when the daemon tries again after a failure
);
