"""`netkeep doctor`: the invariants that tie inventory, RMA, contracts, ownership and jobs."""
