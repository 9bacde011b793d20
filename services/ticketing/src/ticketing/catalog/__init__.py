"""Product lines and their versioned warranty policies (admin writes; a unit keeps the policy in force at sale)."""
