"""farmtrace: farm-to-table food traceability for Bazhong (巴中), Sichuan."""

__version__ = "0.1.0"
