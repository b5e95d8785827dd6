"""The drift audit across CRM, Books and Desk, applying suggested links, and `throughline doctor`."""
