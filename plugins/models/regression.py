"""Built-in plugin module (filled in as the zoo grows)."""
