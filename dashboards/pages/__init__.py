"""One module per dashboard page: each gathers what its template shows; dashboards.views renders it."""
