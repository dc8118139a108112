"""Shipped data: the retrieval corpus and the script that generates it."""
