from __future__ import annotations

import pytest
from pydantic import ValidationError

from automl_backend.nas import CellSpace, MLPSpace, NASError, NASSpec
from automl_backend.nas._spec import load_space, parse_nas_spec


def test_defaults_validate_and_round_trip_through_json() -> None:
    spec = NASSpec(space=CellSpace(), strategy="darts")
    again = NASSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.space.kind == "cnn"


def test_space_with_only_zero_operations_has_no_valid_architecture() -> None:
    with pytest.raises(ValidationError, match="no valid architecture"):
        CellSpace(operations=["zero"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"strategy": "nsga2"}, "needs two objectives"),
        ({"strategy": "tpe", "objectives": ["accuracy", "latency"]}, "use strategy nsga2"),
        ({"strategy": "darts"}, "use the cnn space"),
        ({"image_shape": [1, 8, 8]}, "only applies to the cnn space"),
        ({"objectives": ["latency"]}, "must start with 'accuracy'"),
        ({"time_budget_s": None}, "set time_budget_s or max_trials"),
        ({"space": {"kind": "mlp", "widths": [4, 5000]}}, "outside"),
        ({"space": {"kind": "mlp", "depths": []}}, "at least one choice"),
        ({"space": {"kind": "cnn", "nodes": 9}}, "less than or equal to 4"),
        ({"space": {"kind": "rnn"}}, "kind"),
    ],
)
def test_bad_specs_give_one_line_errors_naming_the_problem(data: dict, message: str) -> None:
    with pytest.raises(NASError, match=message) as info:
        parse_nas_spec(data)
    assert "\n" not in str(info.value)


def test_load_space_reads_names_and_files(tmp_path) -> None:
    assert load_space("cnn") == {"kind": "cnn"}
    f = tmp_path / "space.yaml"
    f.write_text("kind: mlp\ndepths: [1, 2]\nwidths: [16]\n")
    spec = parse_nas_spec({"space": load_space(str(f))})
    assert isinstance(spec.space, MLPSpace) and spec.space.depths == [1, 2]
    with pytest.raises(NASError, match="neither"):
        load_space(str(tmp_path / "missing.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(NASError, match="mapping"):
        load_space(str(tmp_path / "list.yaml"))
