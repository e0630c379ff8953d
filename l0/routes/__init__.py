"""Route health shared by runs: which routes (primary streams) may be called now."""
