"""agreement(): statistics against hand-computed values and against scikit-learn/scipy directly."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from distilabel_nb import agreement as agreement_module
from distilabel_nb.agreement import Agreement, agreement, kappa_words, pair_ratings


@pytest.fixture
def small():
    # a: 1 2 3 4, b: 1 2 4 4 -> one disagreement by one step
    return pd.DataFrame({"ai": [1, 2, 3, 4], "person": [1, 2, 4, 4]})


def test_hand_computed_values(small):
    r = agreement(small, "ai", "person", labels=[1, 2, 3, 4, 5])
    assert (r.n, r.n_dropped, r.n_rows) == (4, 0, 4)
    assert r.exact == 0.75
    assert r.within_one == 1.0
    assert r.mean_abs_diff == 0.25
    assert r.mean_diff == -0.25
    # p_o = 3/4; p_e = (1*1 + 1*1 + 1*2) / 16 = 1/4 -> (3/4 - 1/4) / (3/4)
    assert r.kappa == pytest.approx(2 / 3)
    # weighted: 1 - sum(w*O) / sum(w*E); sum(w*O) = 1, sum(w*E) = 48/4 (quadratic), 22/4 (linear)
    assert r.kappa_quadratic == pytest.approx(1 - 1 / 12)
    assert r.kappa_linear == pytest.approx(1 - 1 / 5.5)
    # ranks of b: 1 2 3.5 3.5 -> 4.5 / sqrt(5 * 4.5)
    assert r.spearman == pytest.approx(4.5 / math.sqrt(22.5))
    # 5 concordant pairs, 0 discordant, 1 pair tied in b only: 5 / sqrt(6 * 5)
    assert r.kendall == pytest.approx(5 / math.sqrt(30))
    assert r.confusion.loc[3, 4] == 1 and r.confusion.loc[4, 4] == 1
    assert int(np.trace(r.confusion.to_numpy())) == 3
    assert r.counts.loc[4.0].tolist() == [1, 2]
    assert list(r.confusion.index) == [1, 2, 3, 4, 5]
    assert r.confusion.index.name == "ai" and r.confusion.columns.name == "person"
    assert kappa_words(r.kappa_quadratic) == "almost perfect"


def test_matches_sklearn_and_scipy_on_random_ratings():
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, size=300)
    noisy = np.clip(truth + rng.integers(-2, 3, size=300), 1, 5)
    r = agreement(pd.DataFrame({"a": truth, "b": noisy}), "a", "b")
    labels = [1, 2, 3, 4, 5]
    assert r.labels == [1, 2, 3, 4, 5]
    assert r.kappa == pytest.approx(cohen_kappa_score(truth, noisy, labels=labels))
    assert r.kappa_linear == pytest.approx(cohen_kappa_score(truth, noisy, labels=labels, weights="linear"))
    assert r.kappa_quadratic == pytest.approx(cohen_kappa_score(truth, noisy, labels=labels, weights="quadratic"))
    rho = stats.spearmanr(truth, noisy)
    tau = stats.kendalltau(truth, noisy)
    assert (r.spearman, r.spearman_p) == pytest.approx((rho.statistic, rho.pvalue))
    assert (r.kendall, r.kendall_p) == pytest.approx((tau.statistic, tau.pvalue))
    assert (r.confusion.to_numpy() == confusion_matrix(truth, noisy, labels=labels)).all()
    assert r.exact == pytest.approx(np.mean(truth == noisy))
    assert r.mean_abs_diff == pytest.approx(np.mean(np.abs(truth - noisy)))


def test_perfect_agreement():
    df = pd.DataFrame({"a": [1, 2, 3, 5], "b": [1.0, 2.0, 3.0, 5.0]})
    r = agreement(df, "a", "b")
    assert r.exact == 1.0 and r.mean_abs_diff == 0.0
    assert r.kappa == r.kappa_linear == r.kappa_quadratic == pytest.approx(1.0)
    assert r.spearman == pytest.approx(1.0) and r.kendall == pytest.approx(1.0)
    assert r.labels == [1, 2, 3, 4, 5]  # whole numbers: the full range, so 4 counts in the weights


def test_list_columns_are_compared_per_generation_and_missing_pairs_dropped():
    df = pd.DataFrame({
        "rating": [[5.0, 3.0], [2.0, None], None, [4.0, 4.0], [1.0, float("nan")]],
        "human_rating": [[5, 4], [2, 1], [3, 3], None, [1, None]],
    }, index=["r0", "r1", "r2", "r3", "r4"])
    r = agreement(df)
    # compared: r0 x2, r1 g0, r4 g0
    assert r.n == 4 and r.n_rows == 3
    assert r.n_total == 10 and r.n_dropped == 6
    assert (r.n_missing_a, r.n_missing_b, r.n_missing_both) == (4, 3, 1)
    assert r.dropped_text() == ("6 of 10 pairs dropped: rating missing in 4, human_rating missing in 3, both in 1")
    assert r.pairs[["row", "generation"]].values.tolist() == [["r0", 0], ["r0", 1], ["r1", 0], ["r4", 0]]
    assert r.exact == 0.75
    assert "6 of 10 pairs dropped" in repr(r)


def test_pair_ratings_counts_and_numpy_arrays():
    df = pd.DataFrame({"a": [np.array([1.0, 2.0])], "b": [[1, None]]})
    pairs, counts = pair_ratings(df, "a", "b")
    assert counts == {"total": 2, "missing_a": 0, "missing_b": 1, "missing_both": 0}
    assert pairs["b"].isna().tolist() == [False, True]


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"rating": [[1, 2]], "human_rating": [[1, 2, 3]]}), "has 2 values but 'human_rating' has 3"),
    (pd.DataFrame({"rating": [[1, 2]], "human_rating": [4]}), "differ in shape"),
    (pd.DataFrame({"rating": [["good"]], "human_rating": [[1]]}), "is not a number"),
    (pd.DataFrame({"rating": [True], "human_rating": [1]}), "is not a number"),
    (pd.DataFrame({"rating": [1]}), "'human_rating' is not a column"),
])
def test_clear_errors(frame, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        agreement(frame)


def test_ratings_off_the_given_scale_are_an_error():
    with pytest.raises(ValueError, match=r"ratings \['7'\] are not on the scale"):
        agreement(pd.DataFrame({"a": [1, 7], "b": [1, 2]}), "a", "b", labels=[1, 2, 3, 4, 5])


def test_two_labellers_as_series_and_same_names():
    first = pd.DataFrame({"rating": [[4, 5], [2, 2]]})
    second = pd.DataFrame({"rating": [[4, 4], [1, 2]]})
    r = agreement(first, "rating", second["rating"])
    assert (r.a, r.b) == ("rating (a)", "rating (b)")
    assert r.n == 4 and r.exact == 0.5
    with pytest.raises(ValueError, match="must have the DataFrame's index"):
        agreement(first, "rating", second["rating"].set_axis([5, 6]))
    lists = agreement(first, [[4, 5], [2, 2]], [[4, 5], [2, 1]])
    assert (lists.a, lists.b, lists.exact) == ("a", "b", 0.75)


def test_float_scales_and_default_labels():
    r = agreement(pd.DataFrame({"a": [7.5, 8.0, 9.5], "b": [7.5, 9.5, 9.5]}), "a", "b")
    assert r.labels == [7.5, 8, 9.5]
    assert r.exact == pytest.approx(2 / 3)
    assert agreement(pd.DataFrame({"a": [1, 5], "b": [3, 5]}), "a", "b").labels == [1, 2, 3, 4, 5]


def test_undefined_statistics_are_nan_not_errors():
    constant = agreement(pd.DataFrame({"a": [3, 3, 3], "b": [2, 3, 4]}), "a", "b")
    assert math.isnan(constant.spearman) and math.isnan(constant.kendall)
    assert constant.exact == pytest.approx(1 / 3)
    empty = agreement(pd.DataFrame({"a": [None, 1.0], "b": [2.0, None]}), "a", "b")
    assert empty.n == 0 and empty.n_dropped == 2
    assert all(math.isnan(v) for k, v in empty.as_dict().items() if k not in ("n", "n_dropped"))
    assert "Agreement" in empty._repr_html_()
    assert kappa_words(float("nan")) == "undefined"
    assert [kappa_words(k) for k in (-0.1, 0.0, 0.2, 0.21, 0.5, 0.7, 0.9)] == [
        "poor", "slight", "slight", "fair", "moderate", "substantial", "almost perfect"]


def test_html_card_escapes_names_and_shows_numbers():
    df = pd.DataFrame({"<script>alert(1)</script>": [1, 2, 3], "b&b": [1, 2, 2]})
    r = agreement(df, "<script>alert(1)</script>", "b&b")
    html = r._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "b&amp;b" in html
    assert "66.7%" in html  # exact agreement
    assert "no pairs dropped" in html
    assert html.count("<td") == 9  # the 3 x 3 confusion


def test_plot_draws_distributions_and_confusion(small):
    import matplotlib.figure

    r = agreement(small, "ai", "person")
    fig = r.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    dist, heat = fig.axes[:2]
    heights = [bar.get_height() for bar in dist.patches]
    assert heights == r.counts["ai"].tolist() + r.counts["person"].tolist()
    assert (heat.images[0].get_array() == r.confusion.to_numpy()).all()
    assert [t.get_text() for t in heat.get_xticklabels()] == ["1", "2", "3", "4"]
    assert heat.get_xlabel() == "person" and heat.get_ylabel() == "ai"


def test_missing_dependency_names_the_extra(monkeypatch, small):
    real = agreement_module.importlib.import_module

    def no_sklearn(name, *args):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real(name, *args)

    monkeypatch.setattr(agreement_module.importlib, "import_module", no_sklearn)
    with pytest.raises(ImportError, match=r"scikit-learn.*pip install 'distilabel_nb\[experiments\]'"):
        agreement(small, "ai", "person")


def test_result_is_a_plain_value(small):
    r = agreement(small, "ai", "person")
    assert isinstance(r, Agreement)
    assert set(r.as_dict()) >= {"exact", "kappa_quadratic", "kappa_linear", "spearman", "kendall", "n_dropped"}
    with pytest.raises(AttributeError):
        r.exact = 1.0  # frozen


def test_docstring_examples_run():
    import doctest

    assert doctest.testmod(agreement_module).failed == 0


# -- few pairs: the result says so, with n and an interval --
def test_two_pairs_carry_a_small_sample_note_with_n_and_a_wilson_interval():
    r = agreement(pd.DataFrame({"rating": [[4, 2]], "human_rating": [[5, 2]]}))
    assert r.n == 2 and r.exact == 0.5
    ci = stats.binomtest(1, 2).proportion_ci(confidence_level=0.95, method="wilson")
    assert r.exact_interval == pytest.approx((ci.low, ci.high)) and r.exact_interval == pytest.approx((0.0945, 0.9055), abs=1e-4)
    assert r.sample_note == ("only 2 pairs: too few for κ or the rank correlations to mean much (aim for 30 or more); "
                             "exact agreement 50% could be anywhere from 9% to 91% (95% interval)")
    text = repr(r)
    assert f"Note: {r.sample_note}" in text.splitlines()[1]
    kappa_lines = [line for line in text.splitlines() if "Cohen's κ" in line]
    assert len(kappa_lines) == 3 and all(line.endswith("too few pairs to say (n = 2)") for line in kappa_lines)
    assert "slight" not in text and "almost perfect" not in text
    assert (r.as_dict()["exact_low"], r.as_dict()["exact_high"]) == r.exact_interval


def test_enough_pairs_have_no_note_and_keep_the_kappa_words():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 6, agreement_module.FEW_PAIRS)
    r = agreement(pd.DataFrame({"a": a, "b": a}), "a", "b")
    assert r.n == agreement_module.FEW_PAIRS and r.sample_note == "" and "Note:" not in repr(r)
    assert "almost perfect" in repr(r) and r.exact_interval[1] == pytest.approx(1.0) and r.exact_interval[0] < 1.0
    one_short = agreement(pd.DataFrame({"a": a[:-1], "b": a[:-1]}), "a", "b")
    assert one_short.sample_note.startswith(f"only {agreement_module.FEW_PAIRS - 1} pairs: too few")
    assert agreement(pd.DataFrame({"a": [None], "b": [1.0]}), "a", "b").sample_note == "no pairs to compare"
