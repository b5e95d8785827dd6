"""`throughline demo`: the whole bot on the embedded sandbox, step by step."""
