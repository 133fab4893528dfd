"""Public datasets bundled inside installed packages: measured, never tuned on.

The #5 goal is measured on real data the team has not seen. Nothing may be downloaded at
run time, so these come from files that scikit-learn and plotly ship in their wheels:

* ``breast_cancer``: Wisconsin Diagnostic Breast Cancer (UCI, CC BY 4.0), 569 x 31,
  target ``diagnosis`` (malignant / benign).
* ``wine``: Wine recognition (UCI, CC BY 4.0), 178 x 14, target ``cultivar`` (3 classes).
* ``tips``: restaurant tips (Bryant & Smith 1995, as bundled by plotly), 244 x 7, target
  ``time`` (lunch / dinner).
* ``gapminder``: life expectancy, population and GDP by country, 1952-2007 (Gapminder,
  CC BY 4.0, as bundled by plotly), 1,704 x 8, target ``continent`` (5 classes, one rare),
  with a 142-value ``country`` text column.
"""

from __future__ import annotations

import pandas as pd

PUBLIC: dict[str, str] = {"breast_cancer": "diagnosis", "wine": "cultivar", "tips": "time",
                          "gapminder": "continent"}


def load(name: str) -> tuple[pd.DataFrame, str]:
    """The dataset ``name`` as a frame, and its target column."""
    if name in ("breast_cancer", "wine"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame.rename(columns={"target": PUBLIC[name]})
        labels = dict(enumerate(bunch.target_names))
        frame[PUBLIC[name]] = frame[PUBLIC[name]].map(labels).astype(str)
        # Column names such as "mean radius" become plain identifiers, as a user would load.
        frame.columns = [str(c).replace(" ", "_").replace("/", "_") for c in frame.columns]
        return frame, PUBLIC[name]
    if name in ("tips", "gapminder"):
        import plotly.express as px

        return getattr(px.data, name)(), PUBLIC[name]
    raise KeyError(name)
