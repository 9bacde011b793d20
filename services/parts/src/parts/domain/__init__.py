"""Pure parts rules (R-P1…R-P6): no I/O, no framework, no clock — callers pass ``now``."""
