import pytest

from agents._sanitize import (
    TextFilterLog,
    TextVerdict,
    check_llm_text,
    clean_llm_text,
    unsupported_claims,
)

GOOD_CRITIQUE = (
    "kNN is sensitive to feature scale, so the scaled arm should beat the unscaled one "
    "by more than a point."
)


@pytest.mark.parametrize(
    "text",
    [
        GOOD_CRITIQUE,
        "Random forests ignore monotone transforms, so scaling should not change them.",
        "Scaling improved balanced accuracy by 0.83 points (95% CI 0.41 to 1.25).",
        "Fold scores 0.81, 0.81, 0.81 were identical for both arms.",
        "'kNN' beats 'SVM' on this data.",
        "It is not possible to scale a tree's splits, so trees should not gain from scaling.",
        "Use e.g. one-hot encoding for the 3 categorical columns.",
        "The gap is small... but consistent across folds.",
        "Score < 0.5 for kNN and > 0.8 for trees.",
    ],
)
def test_ordinary_model_text_is_kept_unchanged(text: str) -> None:
    assert check_llm_text(text) == TextVerdict(text, None)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  Scaling   helps\n kNN a lot. ", "Scaling helps kNN a lot."),
        (
            '**Rationale:** "kNN needs scaled inputs to vote fairly."',
            "kNN needs scaled inputs to vote fairly.",
        ),
        ("*Trees do not care about scale.*", "Trees do not care about scale."),
        (
            "- 1. Trees ignore monotone scaling of features.",
            "Trees ignore monotone scaling of features.",
        ),
        ("“Class weighting lifts minority recall.”", "Class weighting lifts minority recall."),
        ("Scaling **clearly** helps kNN.", "Scaling clearly helps kNN."),
    ],
)
def test_whitespace_emphasis_quotes_bullets_and_labels_are_cleaned(raw: str, cleaned: str) -> None:
    assert clean_llm_text(raw) == cleaned


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Visit https://cheap-pills.example for details", "url"),
        ("More at http://example.org today", "url"),
        ("See www.best-models.net for the answer", "url"),
        ("see example.com/foo for the full story", "url"),
        ("Read cheap-pills.shop/offer before tuning", "url"),
        ("Email bob@spam.ru for the model weights", "url"),
        ("<br>Trusted Family", "markup"),
        ("<b>Scaling</b> helps kNN a lot", "markup"),
        ("Scaling&nbsp;helps kNN a lot", "markup"),
        ("Scaling helps &amp; kNN wins", "markup"),
        ("![chart](chart.png) shows the gain", "markup"),
        ("See [the docs](docs) for the scaled arm", "markup"),
        ("```python\nscale(X)\n```", "markup"),
        ("Random forest did well!!!!", "markup"),
        ("Scaling helps..... kNN wins", "markup"),
        ("Scaling helps kNN<|im_end|>", "markup"),
        ("The hypothesis is {hypothesis} for sure", "markup"),
        ('{"rationale": "scaling helps kNN"}', "markup"),
        ("", "empty"),
        ("   \n ", "empty"),
        ("**", "empty"),
        ("Scaling helps.", "too_short"),
        ("This is not possible.", "meta"),
        ("I cannot answer that question.", "meta"),
        ("As an AI language model, I think scaling helps.", "meta"),
        ("N/A", "meta"),
        ("None", "meta"),
        ("No comment.", "meta"),
        ("Sure, here is the rationale: scaling helps kNN.", "meta"),
        ("I don't know which arm will win.", "meta"),
        ("Lorem ipsum dolor sit amet", "meta"),
        ("A single sentence.", "meta"),
        ("One short sentence explaining the choice.", "meta"),
        ("Your rationale here", "meta"),
        ("1.1.1.1.1", "degenerate"),
        ("the the the the", "degenerate"),
        ("scaling helps scaling helps scaling helps", "degenerate"),
        ("hahahahaha that is funny indeed", "degenerate"),
        ("model model data model model data model model data x", "degenerate"),
        ("12 34 56 78 90 ab cd ef", "degenerate"),
    ],
)
def test_unusable_text_is_dropped_with_its_reason(text: str, reason: str) -> None:
    assert check_llm_text(text) == TextVerdict(None, reason)


def test_min_words_is_configurable() -> None:
    assert clean_llm_text("Scaling helps.", min_words=2) == "Scaling helps."
    assert check_llm_text("Scaling helps kNN a lot.", min_words=10).reason == "too_short"


def test_a_non_string_counts_as_empty() -> None:
    assert check_llm_text(None).reason == "empty"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "The column 'salary' drives the score.",
        'The feature "salary" drives the score.',
        "The feature `salary` drives the score.",
        "Variable: ‘salary’ drives the score.",
    ],
)
def test_a_quoted_unknown_column_is_dropped_only_when_columns_are_known(text: str) -> None:
    assert check_llm_text(text, known_columns=["age", "income"]).reason == "unknown_column"
    assert check_llm_text(text).text == text


def test_a_quoted_known_column_is_kept_in_any_case_or_spelling() -> None:
    columns = ["Age", "household_income"]
    for text in (
        "The column 'age' drives the score.",
        "The feature `household income` drives the score.",
        "The feature 'Household-Income' drives the score.",
        "Unquoted columns like salary are not checked at all.",
    ):
        assert check_llm_text(text, known_columns=columns).text == text


def test_filter_log_counts_drops_by_reason_and_keeps_the_original() -> None:
    log = TextFilterLog(known_columns=["age"])
    assert log.keep(GOOD_CRITIQUE, where="review.critique") == GOOD_CRITIQUE
    assert log.keep("Visit https://cheap-pills.example for details", where="hypothesis") is None
    assert log.keep("See www.spam.com now please", where="hypothesis") is None
    assert log.keep("This is not possible.", where="overview") is None
    assert log.keep("The column 'salary' drives it.", where="meta_review") is None
    assert log.checked == 5
    assert log.total == 4
    assert log.counts == {"url": 2, "meta": 1, "unknown_column": 1}
    assert log.dropped[0] == (
        "hypothesis",
        "url",
        "Visit https://cheap-pills.example for details",
    )
    assert [where for where, _, _ in log.dropped] == [
        "hypothesis",
        "hypothesis",
        "overview",
        "meta_review",
    ]


def test_an_empty_filter_log() -> None:
    log = TextFilterLog()
    assert (log.total, log.counts, log.dropped, log.checked) == (0, {}, [], 0)


VOCABULARY = ["logistic", "knn", "random_forest", "scaling", "one_hot", "class_weighting"]


def test_unsupported_claims_finds_a_family_the_facts_never_mention() -> None:
    facts = "logistic: 0.84 balanced accuracy; scaling +0.3 points (inconclusive)"
    assert unsupported_claims("kNN with scaling wins", facts, VOCABULARY) == ["knn"]


def test_unsupported_claims_matches_spellings_alike() -> None:
    facts = "knn 0.91, random_forest 0.89, one-hot encoding +0.2"
    prose = "k-NN beat the Random Forests; One Hot encoding barely mattered."
    assert unsupported_claims(prose, facts, VOCABULARY) == []


def test_unsupported_claims_keeps_vocabulary_order_and_whole_words() -> None:
    facts = "logistic regression won."
    prose = "Class weighting and kNN helped; random forest too. Knnish words do not count."
    assert unsupported_claims(prose, facts, VOCABULARY) == [
        "knn",
        "random_forest",
        "class_weighting",
    ]
    assert unsupported_claims("logistic regression won.", facts, VOCABULARY) == []
    assert unsupported_claims("anything", "anything", []) == []
