"""Infrastructure and event contracts shared by the after-sales services."""
