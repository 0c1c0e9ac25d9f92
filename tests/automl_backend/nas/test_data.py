from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_backend.nas import NASError
from automl_backend.nas._adapter import nas_features
from automl_backend.nas._data import Preprocessor, encode_labels, resolve_image_shape


def test_tabular_preprocessing_imputes_scales_and_one_hot_encodes() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "c": ["x", "y", "x", "z"]})
    pre = Preprocessor.fit(train, "tabular")
    out = pre.transform(pd.DataFrame({"a": [np.nan], "c": ["never seen"]}))
    assert out.shape == (1, 1 + 3 + 1)  # a, three levels, 'other'
    assert out[0, -1] == 1.0  # unseen level goes to 'other'
    assert np.isfinite(out).all()
    again = Preprocessor(**pre.to_json()).transform(train)
    assert np.allclose(again, pre.transform(train))


def test_labels_are_coded_and_regression_is_refused() -> None:
    codes, classes = encode_labels(["b", "a", "b"])
    assert classes == ["a", "b"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(NASError, match="regression"):
        encode_labels([0.5, 1.25, 3.0])
    with pytest.raises(NASError, match="single class"):
        encode_labels([1, 1, 1])


def test_image_shape_is_inferred_checked_and_explained() -> None:
    assert resolve_image_shape(np.zeros((2, 64)), None) == (1, 8, 8)
    assert resolve_image_shape(np.zeros((2, 3, 4, 5)), None) == (3, 4, 5)
    with pytest.raises(NASError, match=r"needs 48 values per row, but the data has 64"):
        resolve_image_shape(np.zeros((2, 64)), (3, 4, 4))
    with pytest.raises(NASError, match="square image"):
        resolve_image_shape(np.zeros((2, 30)), None)
    with pytest.raises(NASError, match="does not match"):
        resolve_image_shape(np.zeros((2, 1, 8, 8)), (1, 4, 16))


def test_constant_pixel_columns_dropped_by_the_loader_come_back_for_images() -> None:
    from automl_backend import load_dataset

    dataset = load_dataset("sklearn:digits")
    assert dataset.X.shape[1] < 64
    full = nas_features(dataset, "cnn")
    assert full.shape[1] == 64 and list(full.columns)[:2] == ["pixel_0_0", "pixel_0_1"]
    assert (full["pixel_0_0"] == 0).all()
    assert nas_features(dataset, "mlp").shape[1] == dataset.X.shape[1]
