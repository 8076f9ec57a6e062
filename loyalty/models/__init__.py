from .config import ConfigGeneration
from .ledger import LedgerEntry, PointAccount, PointBalance, PointLot
from .program import Program
from .sandbox import SandboxClock
from .tiers import CustomerTier, Tier, TierStructure

__all__ = [
    "ConfigGeneration",
    "Program",
    "SandboxClock",
    "PointAccount",
    "PointBalance",
    "PointLot",
    "LedgerEntry",
    "TierStructure",
    "Tier",
    "CustomerTier",
]
