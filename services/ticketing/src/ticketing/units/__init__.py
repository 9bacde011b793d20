"""The installed base: units, CSV import, warranty cards (R-W10), extensions (R-W6), delays (R-W7), warranty."""
