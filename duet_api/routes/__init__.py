"""One router per resource; ``duet_api.app`` includes them all."""
