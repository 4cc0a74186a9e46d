"""fairsplit services: the Kafka edges that connect events, attribution and the ledger."""
