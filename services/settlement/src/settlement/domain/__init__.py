"""Pure settlement rules (R-D*): quarters, money, fee models, deductions, forfeits. No I/O."""
