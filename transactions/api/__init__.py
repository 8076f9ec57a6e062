"""Display API transactions endpoints (transactions.api.views)."""
