-- callward schema, version 7: why a call hit its time limit, and a
-- facility's own per-minute rate. Old rows read as before: a call stored
-- earlier has no limit reason, a facility no rate of its own (it is
-- charged the cap in force for its tier).

-- Which limit cut the call ('balance', 'call_length', 'calling_hours'),
-- set only on calls cut at their time limit.
ALTER TABLE calls ADD COLUMN time_limit TEXT
    CHECK (time_limit IS NULL
           OR (time_limit IN ('balance', 'call_length', 'calling_hours')
               AND time_limit_reached = 1));

-- The facility's own rate, cents a minute, checked against the caps when
-- set (docs/billing.md); rating never charges above the cap in force.
-- The bounds are the tariff files' sanity limits ($0.50 and $0.10).
ALTER TABLE facilities ADD COLUMN rate_cents_per_minute INTEGER
    CHECK (rate_cents_per_minute IS NULL OR rate_cents_per_minute BETWEEN 0 AND 50);
ALTER TABLE facilities ADD COLUMN facility_cost_cents_per_minute INTEGER
    CHECK (facility_cost_cents_per_minute IS NULL
           OR (facility_cost_cents_per_minute BETWEEN 1 AND 10
               AND rate_cents_per_minute IS NOT NULL));
