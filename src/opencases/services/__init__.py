"""Business rules, one module per resource family; no SQL, no HTTP."""
