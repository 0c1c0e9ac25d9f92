import pytest

from agents._questions import (
    FACTORS,
    QUESTION_KINDS,
    GoalReading,
    factors_from_goal,
    families_from_goal,
    question_from_goal,
    read_goal,
    secondary_objective_from_goal,
    tolerance_from_goal,
    transforms_from_goal,
)

CLASSIFICATION = (
    "logistic",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "lightgbm",
    "svm",
    "knn",
    "mlp",
)
REGRESSION = (
    "ridge",
    "elastic_net",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "lightgbm",
    "svm",
    "knn",
    "mlp",
)

GOALS_BY_KIND = [
    # best
    ("Which model family predicts wine quality best?", "best"),
    ("What is the best model for this dataset?", "best"),
    ("Find the most accurate classifier for the phoneme data.", "best"),
    ("Which configuration gives the highest balanced accuracy?", "best"),
    ("Random forest or gradient boosting: which is better here?", "best"),
    ("Build the strongest regressor you can for house prices.", "best"),
    ("Which algorithm should I use to predict churn?", "best"),
    ("Maximise ROC AUC on the credit data", "best"),
    ("Is gradient boosting the best model here?", "best"),
    # effect
    ("Does feature scaling help kNN?", "effect"),
    ("Is feature scaling or model family the bigger lever for kNN-style models here?", "effect"),
    ("Does class weighting improve balanced accuracy?", "effect"),
    ("Would one-hot encoding beat ordinal encoding?", "effect"),
    ("Does feature selection make a difference for the MLP?", "effect"),
    ("What is the effect of ensembling on RMSE?", "effect"),
    ("Is it worth standardising the features before the SVM?", "effect"),
    ("Compare one-hot vs ordinal encoding for the categorical columns.", "effect"),
    ("Does narrowing the hyperparameter search space help?", "effect"),
    ("Does scaling help kNN, and why?", "effect"),
    ("Which matters more: scaling, encoding or class weighting?", "effect"),
    ("Which feature scaling works best for the SVM?", "effect"),
    ("Check whether SMOTE-style oversampling helps on the imbalanced target.", "effect"),
    # constrained
    ("Find the smallest model within 1 point of the best", "constrained"),
    ("What is the fastest model that is nearly as accurate as the best?", "constrained"),
    ("Which is the simplest model within 0.5 percentage points of the leader?", "constrained"),
    ("I need a compact model under 50 KB that stays within 2% of the top score.", "constrained"),
    ("Give me a model with low prediction latency that loses at most one point.", "constrained"),
    ("Smallest-footprint classifier that's within half a point of the best?", "constrained"),
    ("Which model predicts fastest while staying close to the best accuracy?", "constrained"),
    (
        "Find a lightweight model, size in KB, nearly as accurate as gradient boosting.",
        "constrained",
    ),
    ("Which is the best model under 100 KB?", "constrained"),
    # why
    ("Which features matter most for predicting churn?", "why"),
    ("Would more training data help?", "why"),
    ("Why does gradient boosting work best here?", "why"),
    ("Is the model data-limited?", "why"),
    ("Show the learning curve: does accuracy keep rising with training set size?", "why"),
    ("What drives the score on this dataset?", "why"),
    ("Which data properties explain the gap between kNN and random forest?", "why"),
    ("Explain which variables the best model relies on.", "why"),
    ("Which features drive the best model's predictions, and why?", "why"),
]


def test_kinds_and_factors_are_the_closed_lists() -> None:
    assert QUESTION_KINDS == ("best", "effect", "constrained", "why")
    assert FACTORS == (
        "family",
        "scaling",
        "encoding",
        "feature_selection",
        "class_weighting",
        "train_fraction",
        "search_region",
        "ensembling",
        "features",
    )


def test_the_phrasings_cover_every_kind_at_least_six_times() -> None:
    assert len({goal for goal, _ in GOALS_BY_KIND}) >= 30
    for kind in QUESTION_KINDS:
        assert sum(expected == kind for _, expected in GOALS_BY_KIND) >= 6


@pytest.mark.parametrize(("goal", "kind"), GOALS_BY_KIND)
def test_question_kind_of_goal(goal: str, kind: str) -> None:
    assert question_from_goal(goal) == kind


def test_an_empty_goal_asks_for_the_best() -> None:
    assert question_from_goal("") == "best"
    assert factors_from_goal("") == []
    assert tolerance_from_goal("") is None
    assert secondary_objective_from_goal("") is None


@pytest.mark.parametrize(
    ("goal", "factors"),
    [
        (
            "Is feature scaling or model family the bigger lever for kNN-style models here?",
            ["scaling", "family"],
        ),
        ("Would more training data help?", ["train_fraction"]),
        ("Is the model data-limited?", ["train_fraction"]),
        (
            "Does class-weighting or SMOTE-style oversampling help on the imbalanced target?",
            ["class_weighting"],
        ),
        ("Compare one-hot vs ordinal encoding, then try stacking.", ["encoding", "ensembling"]),
        (
            "Does selecting the k-best features beat tuning the hyperparameter range?",
            ["feature_selection", "search_region"],
        ),
        ("Does standardising help, and which algorithm wins?", ["scaling", "family"]),
        ("Random forest or gradient boosting?", ["family"]),
        ("Does normalizing the features help the MLP?", ["scaling"]),
        ("Would target encoding beat one-hot?", ["encoding"]),
        ("Do bagging and an ensemble help?", ["ensembling"]),
        ("Is the search space too narrow around the tuning region?", ["search_region"]),
        ("Does rebalancing the classes help?", ["class_weighting"]),
        ("Use fewer features", ["feature_selection"]),
        ("What is the best model?", []),
        ("Does feature scaling help kNN?", ["scaling"]),
    ],
)
def test_factors_in_order_of_mention(goal: str, factors: list[str]) -> None:
    assert factors_from_goal(goal) == factors


@pytest.mark.parametrize(
    ("goal", "valid", "families"),
    [
        ("Is scaling the bigger lever for kNN-style models here?", CLASSIFICATION, ["knn"]),
        ("Does k-NN need scaling?", CLASSIFICATION, ["knn"]),
        ("K NN or k-nearest neighbours?", CLASSIFICATION, ["knn"]),
        ("Does scaling help nearest-neighbor models?", CLASSIFICATION, ["knn"]),
        ("Does scaling help distance-based models?", CLASSIFICATION, ["knn"]),
        ("Gradient boosting vs LightGBM", CLASSIFICATION, ["hist_gradient_boosting", "lightgbm"]),
        ("Is LightGBM the best?", CLASSIFICATION, ["lightgbm"]),
        ("Is Light-GBM the best?", CLASSIFICATION, ["lightgbm"]),
        ("HGB, HistGradientBoosting or boosted trees?", CLASSIFICATION, ["hist_gradient_boosting"]),
        ("Logistic regression vs ridge", CLASSIFICATION, ["logistic"]),
        ("Logistic regression vs ridge", REGRESSION, ["ridge"]),
        ("A linear classifier or an SVM?", CLASSIFICATION, ["logistic", "svm"]),
        ("Elastic-net or lasso?", REGRESSION, ["elastic_net"]),
        (
            "Extremely randomized trees beat a random forest",
            REGRESSION,
            ["extra_trees", "random_forest"],
        ),
        ("Extra-Trees", CLASSIFICATION, ["extra_trees"]),
        ("A support-vector machine or a kernel machine", CLASSIFICATION, ["svm"]),
        ("A neural net, an MLP or a multi-layer perceptron?", CLASSIFICATION, ["mlp"]),
        ("Which model is best?", CLASSIFICATION, []),
    ],
)
def test_families_named_in_the_goal(goal: str, valid: tuple[str, ...], families: list[str]) -> None:
    assert families_from_goal(goal, valid) == families


def test_families_outside_valid_are_dropped() -> None:
    assert families_from_goal("kNN versus SVM", ["svm"]) == ["svm"]
    assert families_from_goal("kNN versus SVM", []) == []


@pytest.mark.parametrize(
    ("goal", "tolerance"),
    [
        ("Find the smallest model within 1 point of the best", 1.0),
        ("within 0.5 points", 0.5),
        ("within 0.5 percentage points", 0.5),
        ("within 0.5%", 0.5),
        ("within 0.5 % of the best", 0.5),
        ("within one point", 1.0),
        ("within half a point", 0.5),
        ("within a 1-point margin", 1.0),
        ("within 1-point of the top", 1.0),
        ("at most 2 pp worse", 2.0),
        ("no more than 0.25 points below the best", 0.25),
        ("a model 0.3 points of the best", 0.3),
        ("Compact model under 50 KB", None),
        ("What is the best model?", None),
        ("within 10 minutes", None),
    ],
)
def test_tolerance_in_metric_points(goal: str, tolerance: float | None) -> None:
    assert tolerance_from_goal(goal) == tolerance


@pytest.mark.parametrize(
    ("goal", "secondary"),
    [
        ("Find the smallest model within 1 point of the best", "model_size"),
        ("the simplest model", "model_size"),
        ("a compact classifier", "model_size"),
        ("report the size in KB", "model_size"),
        ("minimise model size", "model_size"),
        ("under 50KB", "model_size"),
        ("the fastest model", "latency"),
        ("lowest latency", "latency"),
        ("a model that is quick to predict", "latency"),
        ("prediction time per row", "latency"),
        ("fastest, then smallest", "latency"),
        ("smallest, then fastest", "model_size"),
        ("Does accuracy grow with training set size?", None),
        ("Is the sample size too small?", None),
        ("Which model is best?", None),
        ("A quick question: which model is best?", None),
    ],
)
def test_secondary_objective(goal: str, secondary: str | None) -> None:
    assert secondary_objective_from_goal(goal) == secondary


def test_read_goal_on_the_brief_examples() -> None:
    assert read_goal(
        "Is feature scaling or model family the bigger lever for kNN-style models here?",
        CLASSIFICATION,
    ) == GoalReading(
        kind="effect",
        factors=("scaling", "family"),
        families=("knn",),
        tolerance=None,
        secondary=None,
    )
    assert read_goal("Find the smallest model within 1 point of the best", CLASSIFICATION) == (
        GoalReading(
            kind="constrained", factors=(), families=(), tolerance=1.0, secondary="model_size"
        )
    )
    assert read_goal("Would more training data help?", CLASSIFICATION) == GoalReading(
        kind="why", factors=("train_fraction",), families=(), tolerance=None, secondary=None
    )


@pytest.mark.parametrize(
    "goal",
    [
        "Is feature scaling or model family the bigger lever for kNN-style models here?",
        "IS FEATURE-SCALING OR MODEL-FAMILY THE BIGGER LEVER FOR KNN STYLE MODELS HERE",
        "is feature_scaling or model_family the bigger lever for k-nn-style models here???",
        "Is feature scaling — or model family — the bigger lever for “kNN‑style” models here?",
    ],
)
def test_case_hyphen_and_punctuation_variants_read_alike(goal: str) -> None:
    reading = read_goal(goal, CLASSIFICATION)
    assert (reading.kind, reading.factors, reading.families) == (
        "effect",
        ("scaling", "family"),
        ("knn",),
    )


@pytest.mark.parametrize(
    ("goal", "kinds"),
    [
        ("Would a ratio of two columns help?", ["ratio"]),
        ("Does a log transform of the skewed columns help?", ["log1p"]),
        ("Would products of two features or their ratios help?", ["product", "ratio"]),
        ("Does the difference between two columns help?", ["difference"]),
        ("Would interaction features help the linear model?", ["product"]),
        # An encoding question, not a feature one: the encoding factor covers it.
        ("Does target encoding beat frequency encoding?", []),
        ("Would a group mean of income by city help?", ["group"]),
        ("Do new features help?", []),
        ("Does feature engineering help?", []),
        # Not a question about features: a "ratio" elsewhere restricts nothing.
        ("Which model is best on the signal to noise ratio data?", []),
    ],
)
def test_transform_kinds_named_by_a_feature_question(goal: str, kinds: list[str]) -> None:
    assert transforms_from_goal(goal) == kinds
    assert read_goal(goal, CLASSIFICATION).transforms == tuple(kinds)
