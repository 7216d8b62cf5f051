"""What the arena announces; other apps listen, the arena imports none of them."""

from __future__ import annotations

import django.dispatch

# Sent after the transaction that stored (or re-classified) votes has committed.
votes_changed = django.dispatch.Signal()
