"""The message board: the message format (:mod:`.messages`), posting and reading (:mod:`.board`),
claims on directions of work (:mod:`.claims`) and the state of play in one page (:mod:`.digest`)."""
