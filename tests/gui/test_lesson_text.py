"""A scene's lesson text never makes the window read a file."""

from __future__ import annotations

import os

import pytest

from zoo.session import scene_from_dict, scene_to_dict


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)  # reading it would block for ever
    return path


def test_image_sources_in_a_lesson_are_never_loaded(qtbot, main_window, registry, tmp_path, fifo):
    window = main_window
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    sources = [str(secret), f"file://{secret}", "/dev/zero", str(fifo), "../../../etc/passwd"]
    images = "".join(f"<img src='{source}'>" for source in sources)
    data = scene_to_dict(window.scene())
    data["lesson"] = {"title": "Hostile <b>", "text": f"<p>Look {images} here (N < D).</p>"}
    assert window.load_scene(scene_from_dict(data, registry))
    view = window.lesson_view
    assert view.requested == []
    shown = view.toPlainText()
    assert "TOP SECRET" not in shown
    assert "Hostile <b>" in shown  # the title is plain text
    assert "Look here (N < D)." in shown
    assert view.document().toHtml().count("<img") == 0
