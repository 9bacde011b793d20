"""Repairs on site (issue 15): the engineer's diagnosis and, for paid repairs, quotes and payments."""
