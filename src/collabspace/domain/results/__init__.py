"""Results: the result files and submitting (:mod:`.results`), verdicts and what they taint
(:mod:`.invalidation`), and the leaderboard derived from both, computed once (:mod:`.leaderboard`)."""
