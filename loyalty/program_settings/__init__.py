"""The console's Settings pages (program, point accounts, tiers): views, forms, tables, urls."""
