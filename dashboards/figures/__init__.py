"""One module per dashboard: a function of the filters that reads the rollups (never the
prescriptions themselves) and returns the page's Figures."""
