"""RevOps warehouse: the raw CRM contract, the demo data generator and the command line."""
