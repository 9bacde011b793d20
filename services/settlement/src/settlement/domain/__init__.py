"""Pure settlement rules (R-D*): quarters, fee models, deductions, forfeits, assessment, lifecycles.

No I/O, no clock (callers pass ``now``), nothing imported from the rest of the service.
"""
