"""Running fits and comparisons away from the page: status, worker, backends."""
