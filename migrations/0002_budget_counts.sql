-- Budgets count a caller's running tasks and its starts of the last day.
CREATE INDEX ledger_tasks_caller_phase ON ledger_tasks (caller, phase);
CREATE INDEX ledger_tasks_caller_started ON ledger_tasks (caller, started_at);
