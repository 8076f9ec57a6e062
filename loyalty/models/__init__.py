from .config import ConfigGeneration
from .ledger import LedgerEntry, PointAccount, PointBalance, PointLot
from .program import Program
from .tiers import CustomerTier, Tier, TierStructure

__all__ = [
    "ConfigGeneration",
    "Program",
    "PointAccount",
    "PointBalance",
    "PointLot",
    "LedgerEntry",
    "TierStructure",
    "Tier",
    "CustomerTier",
]
