"""Thumbnail widths the image service renders."""
WIDTHS = (160, 320, 640, 1280)


def clamp(width):
    """The smallest rendered width at least as wide as asked for."""
    return next((w for w in WIDTHS if w >= width), WIDTHS[-1])
