"""Demo data (`seed_demo`) and load data (`generate_load_data`): what the commands use."""
