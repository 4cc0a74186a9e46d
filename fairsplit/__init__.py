"""fairsplit attribution core: who earned what for one generated image.

Pure: no Kafka, no database. Inputs are an event's prompt parts, seed and parameters,
the artists' gallery embeddings and a model profile; the output is an attribution result
(players, coalition values, Shapley shares) that the ledger can split money from.
"""
