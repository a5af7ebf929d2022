"""Channels: adapters between the engine and the places people chat (terminal, JSONL)."""
