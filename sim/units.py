"""Units of simulated time, in seconds (every time in survsim is seconds since the start of
day 1, as float64)."""

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
