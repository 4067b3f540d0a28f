"""P4Runtime side of the controller: core facts -> entries (entries.py), the
single writer and reconcile (apply.py), and the P4 names used (names.py)."""
