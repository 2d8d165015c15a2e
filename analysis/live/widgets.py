"""The widgets under the live view's panels: an image that reports where it was clicked
(the referral graph), and a PNG as an image element that keeps one widget per image
across frames."""

from __future__ import annotations

from typing import Any

import ipyvuetify as v
import ipywidgets
import traitlets

#: The graph image in a Vue template that reports where it was clicked, as fractions of
#: the image's box (the browser may show it scaled); `clicked` calls `vue_clicked`.
CLICK_TEMPLATE = """
<template>
  <div class="bjs-graph" style="line-height: 0; cursor: pointer" @click="on_click">
    <jupyter-widget :widget="image" />
  </div>
</template>
<script>
module.exports = {
  methods: {
    on_click(event) {
      const img = event.target && event.target.closest ? event.target.closest("img") : null;
      if (!img) { return; }
      const box = img.getBoundingClientRect();
      if (!box.width || !box.height) { return; }
      this.clicked({
        x: (event.clientX - box.left) / box.width,
        y: (event.clientY - box.top) / box.height,
      });
    },
  },
};
</script>
"""


class ClickableImage(v.VuetifyTemplate):
    """An image widget that reports clicks: `callback(fx, fy)` with the click's position
    as fractions of the image's width and height (ipywidgets.Image has no click event;
    this template reads the click's offset in the browser)."""

    template = traitlets.Unicode(CLICK_TEMPLATE).tag(sync=True)
    image = traitlets.Instance(ipywidgets.Widget, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    callback = traitlets.Any(None, allow_none=True)

    def vue_clicked(self, data: dict[str, Any]) -> None:
        """Called from the browser with {x, y} fractions of the image's box."""
        if self.callback is None:
            return
        try:
            fx, fy = float(data["x"]), float(data["y"])
        except (KeyError, TypeError, ValueError):
            return
        self.callback(fx, fy)


def png_widget(png: bytes) -> Any:
    """A PNG as an image element, scaled to its box."""
    # the layout as an element: reacton keeps one Layout widget per image across frames
    # (a Layout object made here would be a new widget, and a new comm, every frame)
    return ipywidgets.Image.element(
        value=png,
        format="png",
        layout=ipywidgets.Layout.element(max_width="100%", height="auto", object_fit="contain"),
    )
