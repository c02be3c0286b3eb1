"""Every registered record with the plugin and source it came from, and every failure."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from zoo.registry import KINDS, local_plugin_dirs

TITLES = {
    "optimizer": "Optimizers",
    "activation": "Activations",
    "model": "Models",
    "schedule": "Schedules",
}


class PluginsPanel(QtWidgets.QWidget):
    """A tree of records and failures; ``reload_clicked`` asks to re-read local plugins."""

    reload_clicked = QtCore.Signal()
    open_folder_clicked = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["name", "label", "plugin", "source"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        layout.addWidget(self.tree, 1)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLabel()
        self.folder.setWordWrap(True)
        self.folder.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.folder, 1)
        opener = QtWidgets.QPushButton("Open folder")
        opener.setToolTip("Open the local plugin folder (created if missing)")
        opener.clicked.connect(self.open_folder_clicked.emit)
        row.addWidget(opener)
        button = QtWidgets.QPushButton("Reload local plugins")
        button.setToolTip(
            "Pick up new or edited files in the local plugin folder (done by itself when "
            "a file there changes)"
        )
        button.clicked.connect(self.reload_clicked.emit)
        row.addWidget(button)
        layout.addLayout(row)

    def show_registry(self, registry: Any) -> None:
        self.tree.clear()
        failures = QtWidgets.QTreeWidgetItem([f"Failures ({len(registry.failures)})"])
        red = QtGui.QBrush(QtGui.QColor("#ff6b6b"))
        for failure in registry.failures:
            item = QtWidgets.QTreeWidgetItem(
                [failure.plugin, failure.message, failure.plugin, failure.source]
            )
            item.setToolTip(1, failure.message)
            for column in range(4):
                item.setForeground(column, red)
            failures.addChild(item)
        if registry.failures:
            failures.setForeground(0, red)
        for kind in KINDS:
            records = registry.records(kind)
            top = QtWidgets.QTreeWidgetItem([f"{TITLES[kind]} ({len(records)})"])
            for name, record in sorted(records.items()):
                origin = registry.provenance(kind, name)
                item = QtWidgets.QTreeWidgetItem(
                    [name, record.label or name, origin.plugin, origin.source]
                )
                item.setToolTip(0, record.doc)
                item.setToolTip(1, record.doc)
                top.addChild(item)
            self.tree.addTopLevelItem(top)
            top.setExpanded(kind == "optimizer")
        self.tree.insertTopLevelItem(0, failures)
        failures.setExpanded(bool(registry.failures))
        slow = [plugin for plugin in registry.plugins if plugin.slow]
        if slow:
            top = QtWidgets.QTreeWidgetItem([f"Slow imports ({len(slow)})"])
            for plugin in slow:
                item = QtWidgets.QTreeWidgetItem(
                    [plugin.name, plugin.slow, plugin.name, plugin.source]
                )
                item.setToolTip(1, plugin.slow)
                top.addChild(item)
            self.tree.insertTopLevelItem(1, top)
            top.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self.folder.setText(
            "Local plugin folder: " + ", ".join(str(path) for path in local_plugin_dirs())
        )

    def failure_messages(self) -> list[str]:
        top = self.tree.topLevelItem(0)
        return [top.child(i).text(1) for i in range(top.childCount())]
