"""Retrieval: MiniLM embeddings (offline) and an HNSW index over the shipped corpus."""
