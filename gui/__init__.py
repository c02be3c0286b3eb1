"""The Optimizer Zoo desktop app (PySide6 + pyqtgraph) on the public API of ``zoo``."""
