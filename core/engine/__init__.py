"""The synthesizers: the only package that imports sdv, ctgan, rdt, copulas and torch."""
