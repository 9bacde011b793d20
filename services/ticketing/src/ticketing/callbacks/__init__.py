"""Callbacks and satisfaction (R-T5): a task per completed repair, the agent's outcome, the monthly dealer report."""
