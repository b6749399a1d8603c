# Status screen (M5StickC Plus2's ST7789): placement, battery, streaming state, set marks.
# Needs a MicroPython st7789 driver module on the board (e.g. russhughes' st7789_mpy
# firmware); without one the sensor runs headless and this does nothing.
try:
    import st7789  # type: ignore
except ImportError:
    st7789 = None


class Screen:
    def __init__(self, spi=None, **pins):
        self.tft = None
        if st7789 is not None and spi is not None:
            self.tft = st7789.ST7789(spi, 135, 240, **pins)
            self.tft.init()

    def show(self, name, placement, battery_pct, streaming, marks):
        if self.tft is None:
            return
        self.tft.fill(0)
        lines = (name, placement or "no placement", "bat %d%%" % battery_pct,
                 "STREAMING" if streaming else "idle", "sets %d" % marks)
        for i, text in enumerate(lines):
            self.tft.text(st7789.FONT, text, 4, 4 + 20 * i)  # noqa
