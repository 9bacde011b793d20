"""三包 remedies carried out (issue 15, R-W4/R-W5): return, exchange, unit or component replacement of a ticket's
unit — the rights checked, the old serial retired, the new unit's warranty, ``ticketing.unit.remedy_completed``."""
