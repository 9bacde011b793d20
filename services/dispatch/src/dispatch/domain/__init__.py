"""Pure dispatch rules: business calendars, SLA clocks, assignment scoring (no I/O, `now` passed in)."""
