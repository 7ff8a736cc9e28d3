"""Files: segment parts, gzip, dedup spill, part buffers, and the temp spool under them."""
