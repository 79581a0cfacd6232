-- The guard of the ledger's composed statements (src/ledger/steps.ts): a
-- statement that claimed something (a task, an idempotency key) and then
-- could not move the money it needed aborts as a whole, with SQLSTATE GW001
-- and `reason` as its message, so nothing it wrote survives.
CREATE FUNCTION "ledger_require"(ok boolean, reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = 'GW001', MESSAGE = reason;
  END IF;
  RETURN true;
END
$$;
