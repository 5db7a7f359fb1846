-- The isolation canary's history (issue 19): every run of every replica's canary, kept 30 days (and
-- at most so many runs per replica), pruned by the canary itself after each run
-- (src/modules/policy/isolation-canary.ts). A platform table like platform_client_apps: it holds no
-- tenant's rows and no tenant's data. What a run found is a fixed reason code (IsolationCanaryReason
-- in the schema), never the finding's text: that names tables, agents and tenants, and goes to the
-- operators' logs and audit only.
--
-- Who reads what:
--  * operators (app_is_operator()) read and write whole rows, replica names included; the canary
--    writes and prunes in an operator transaction of its own;
--  * a tenant's owners and admins read when and how each run ended, and how long it took, through
--    isolation_canary_outcomes() (migrations/functions/canary.sql), which needs a tenant setting and
--    returns neither the replica's name nor the reason: those describe the platform's machines and
--    its walls' weak points, which are the operators' to know. The owner-only SELECT policy below
--    exists for that function alone; the app role reads the table only in operator transactions.
CREATE TABLE isolation_canary_runs (
  id           uuid PRIMARY KEY,
  replica      text NOT NULL CHECK (replica ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$'),
  outcome      text NOT NULL CHECK (outcome IN ('OK', 'EXPOSED', 'ERROR')),
  reason       text CHECK (reason ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  ran_at       timestamptz NOT NULL,
  duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
  -- A reason exactly when something went wrong.
  CHECK ((outcome = 'OK') = (reason IS NULL))
);

-- Newest first, overall (ids are time-ordered) and per replica (the operator's view, the per-replica cap).
CREATE INDEX isolation_canary_runs_replica ON isolation_canary_runs (replica, id);
-- Pruning by age.
CREATE INDEX isolation_canary_runs_ran_at ON isolation_canary_runs (ran_at);

ALTER TABLE isolation_canary_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE isolation_canary_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY isolation_canary_runs_operator ON isolation_canary_runs FOR ALL TO fleetgate_app
  USING (app_is_operator()) WITH CHECK (app_is_operator());
CREATE POLICY isolation_canary_runs_outcomes ON isolation_canary_runs FOR SELECT TO fleetgate_owner USING (true);
-- Runs are facts: written once, never changed; deleted only by the pruning.
GRANT SELECT, INSERT, DELETE ON isolation_canary_runs TO fleetgate_app;
