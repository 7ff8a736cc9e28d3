"""Files: one open part per segment, gzip, dedup spill, and the temp spool under them."""
