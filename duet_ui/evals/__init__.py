"""Evaluation on the pages (docs/design.md, "Evaluation"): the judge panel and scores of a run
in History, people's per-turn scores, the blind vote in Compare, score columns, and the
Leaderboard page. The pages call ``duet_core.evals`` (as the CLI and the API do).

- ``scores.py``: what a run's evaluations and ratings show (pure, no Streamlit).
- ``rubrics.py``: the built-in rubrics offered beside the prompt library's templates.
- ``judge_panel.py``: pick a judge and run it on a saved run.
- ``run_view.py``: a run's scores at its top and beside its turns, people's ratings.
- ``columns.py``: the score columns of History's list and Compare's totals.
- ``vote.py``: the blind pairwise vote between two runs (Compare).
- ``board.py``: the Leaderboard page's chart and tables.
"""
