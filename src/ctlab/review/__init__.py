"""`ctlab review OUT`: hand-grading the triage summary in a local web page, with evidence from the answer key."""
