"""The ``chainrule`` command: demo, train, predict, evaluate, info, explain, gradcheck, bench."""
