"""UI-free core of the lab: catalog, weights, data, training engine, runs (no widgets)."""
