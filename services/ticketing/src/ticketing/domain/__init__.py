"""Pure ticketing rules: no I/O, no framework, the date is passed in."""
