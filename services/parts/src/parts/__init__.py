"""parts service."""
