"""``make soak``: millions of checked outputs over random valid configs on both simulators."""
