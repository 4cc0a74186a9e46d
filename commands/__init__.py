"""The fairsplit command line, one module per noun; `cli.py` only assembles them."""
