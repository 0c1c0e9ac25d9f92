"""The shipped literature notes (``*.md``), one topic per file; a package so wheels carry them."""
