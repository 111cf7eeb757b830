"""The playground's own logic: plain Python that the pages call and tests reach without a browser."""
