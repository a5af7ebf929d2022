"""The store: one SQLite file (sqlite-utils, WAL) for conversations and the few tables
beside them. Only this package touches the connection, its lock or SQL; others use the
tables' methods (``store.callbacks``, ``store.followups``, ``store.links``, ``store.staff``).
"""

from bot.store.conversations import (
    HISTORY_LIMIT,
    OFFERED_LIMIT,
    ConversationState,
    TrackerStore,
    now,
    private_folder,
)

__all__ = [
    "HISTORY_LIMIT",
    "OFFERED_LIMIT",
    "ConversationState",
    "TrackerStore",
    "now",
    "private_folder",
]
