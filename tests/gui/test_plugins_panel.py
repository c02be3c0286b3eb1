"""The plugin view says which plugin was slow to import, as ``zoo plugins`` does."""

from __future__ import annotations

from dataclasses import replace

from zoo_gui.plugins_panel import PluginsPanel


def test_a_plugin_slow_to_import_is_named_with_its_time(qtbot, registry):
    panel = PluginsPanel()
    qtbot.addWidget(panel)
    panel.show_registry(registry)
    titles = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert not any(title.startswith("Slow imports") for title in titles)
    first = registry.plugins[0]
    registry.plugins[0] = replace(first, import_seconds=8.0)
    try:
        panel.show_registry(registry)
    finally:
        registry.plugins[0] = first
    slow = panel.tree.topLevelItem(1)
    assert slow.text(0) == "Slow imports (1)"
    assert slow.child(0).text(1) == f"plugin {first.name} took 8.0 s to import"
