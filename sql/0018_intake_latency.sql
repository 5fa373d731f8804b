-- Intake latency (issue 18): per source, a histogram of the time from
-- postdesk holding a whole message (fetched, read from a Maildir, piped in)
-- to the end of the transaction that took it (its ticket change, its
-- quarantine). Kept here, not in the daemon's memory, because `ingest`
-- under an MTA pipe is a process of its own per message, and so that the
-- counters survive a restart like the others. One row per bucket: the
-- table stays as small as the number of sources.
CREATE TABLE intake_latency (
    source  TEXT    NOT NULL,
    le_us   INTEGER NOT NULL,            -- the bucket's upper bound in µs; 9223372036854775807: +Inf
    count   INTEGER NOT NULL DEFAULT 0,  -- messages in this bucket (not cumulative)
    sum_us  INTEGER NOT NULL DEFAULT 0,  -- their latencies added up, in µs
    PRIMARY KEY (source, le_us)
) WITHOUT ROWID;
