"""Suite-wide: the default bots stay on the canned demo provider, even on a machine where the
optional local model is installed (its own tests ask for it by name). Set before any test
module imports duet_ui.shared.bot_form, and inherited by the app and CLI processes tests start."""

from __future__ import annotations

import os

os.environ.setdefault("DUET_OFFLINE_PROVIDER", "demo")
