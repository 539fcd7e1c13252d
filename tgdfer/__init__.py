"""tgdfer: a reproducible implementation of TG-DFER (text-guided weakly supervised DFER)."""
__version__ = "0.1.0"
