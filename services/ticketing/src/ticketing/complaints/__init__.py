"""Complaints (R-T6): their own resource and lifecycle, linked to tickets and dealers, with a response deadline."""
