"""Evaluation (docs/design.md, "Evaluation"): judges that score runs and turns, people's votes,
and a leaderboard.

- ``judge.py``: the judge file (a bot and a rubric, per run or per turn) and its requests.
- ``verdict.py``: the answer a judge must give (``{"score": 1-10, "reason"}``), read strictly.
- ``judging.py``: judging runs, or every run of an experiment within its limits; scores stored.
- ``votes.py``: people's per-turn scores and blind pairwise votes between runs.
- ``leaderboard.py``: Bradley-Terry ratings with bootstrap 95% intervals from the votes.

No Streamlit, no FastAPI: the pages, the API and the command line call these.
"""
