"""Majority vote over equivalent answers, with the real grader."""

from agent.voting import majority_vote


def test_equivalent_answers_vote_together():
    answer, clusters = majority_vote(["0.5", "3", "\\frac{1}{2}", "1/2", None, "3"])
    assert answer == "0.5"
    assert [c.members for c in clusters] == [[0, 2, 3], [1, 5]]


def test_ties_go_to_the_first_seen_and_no_answers_abstain():
    assert majority_vote(["7", "8"])[0] == "7"
    assert majority_vote([None, None]) == (None, [])


def test_weights():
    answer, clusters = majority_vote(["7", "8", "8"], weights=[5.0, 1.0, 1.0])
    assert answer == "7" and clusters[0].weight == 5.0
