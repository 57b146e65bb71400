"""The data a CSV file gives for training or prediction (:class:`CSVData`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.data.preprocessing import Preprocessor
from chainrule.data.schema import Schema
from chainrule.data.split import train_test_split
from chainrule.errors import DataError

__all__ = ["CSVData"]


@dataclass
class CSVData:
    """A CSV file read for training: features, labels and how to preprocess new rows.

    Attributes:
        X: float32 (n, features): numeric columns as numbers, categorical columns one-hot
            encoded; NOT standardised (see :meth:`split`, or fit ``preprocessor`` yourself).
        y: int64 (n,) class indices into ``class_names``, or float64 (n,) for regression
            (``None`` when no target was asked for).
        feature_names: names of X's columns (``colour=red`` for one-hot columns).
        target_name: the target column's name.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"`` (``None`` without target).
        class_names: the label of each class index (``None`` for regression).
        preprocessor: a :class:`Preprocessor` describing the columns (not yet fitted).
        columns: the raw feature columns' names; path: the file; lines: each row's line.
        schema: every column's type, role, missing and distinct counts (:mod:`.schema`).
        notes: what the user should know (columns left out, decimal commas, unseen
            categories), one line each.
        dialect: how the file writes cells, ``{"delimiter": ";", "decimal": ","}``, so that
            output about its rows (``chainrule predict``) can be written the same way.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    task: str | None
    class_names: list[str] | None
    preprocessor: Preprocessor
    columns: list[str] = field(default_factory=list)
    path: str = ""
    lines: np.ndarray | None = None
    schema: Schema | None = None
    notes: list[str] = field(default_factory=list)
    dialect: dict = field(default_factory=lambda: {"delimiter": ",", "decimal": "."})

    def __len__(self) -> int:
        return len(self.X)

    def split(self, test_size=0.25, seed=0, standardize: bool = True):
        """Split into training and test rows and fit the preprocessor on the training rows.

        Classification splits are stratified. Returns ``(X_train, X_test, y_train, y_test)``,
        standardised with statistics of the training rows only.
        """
        if self.y is None:
            raise DataError(f"{self.path}: no target column was loaded; pass target=... to split")
        stratify = None if self.task == "regression" else self.y
        X_train, X_test, y_train, y_test = train_test_split(
            self.X, self.y, test_size=test_size, stratify=stratify, seed=seed
        )
        self.preprocessor.standardize = bool(standardize)
        self.preprocessor.fit(X_train)
        return (
            self.preprocessor.transform(X_train),
            self.preprocessor.transform(X_test),
            y_train,
            y_test,
        )

    def __repr__(self) -> str:
        classes = "" if self.class_names is None else f", classes={self.class_names}"
        return (
            f"CSVData({self.path!r}, rows={len(self.X)}, features={self.X.shape[1]}, "
            f"target={self.target_name!r}, task={self.task!r}{classes})"
        )
